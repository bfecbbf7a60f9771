"""SearchModel: fit() with two optimizers, an architecture phase and a weight phase."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.replicas import apply_summed, num_replicas, sum_over_replicas
from asap_keras.space.network import SearchNetwork


def _cross_entropy(labels, logits):
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
        labels, logits, from_logits=True))


@keras.saving.register_keras_serializable(package="asap_keras")
class SearchModel(keras.Model):
    """Wraps a `SearchNetwork`; `train_step` runs an architecture step then a weight step.

    The step's structure (which ops run, whether the architecture phase runs) is read from
    Variables at trace time; `sync_structure()` re-reads them and rebuilds the train and
    test functions when they changed, so a pruned op or a grace-period arch step is simply
    not in the graph. (Under MirroredStrategy a `tf.cond` around an optimizer update is
    refused: a cross-replica sync point inside control flow.)

    Args:
        network: the supernet.

    Example:
    >>> model = SearchModel(network)
    >>> model.compile(weight_optimizer=keras.optimizers.SGD(0.025, momentum=0.9),
    ...               arch_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.5))
    >>> model.fit(zip_of_weight_and_arch_batches, steps_per_epoch=n, epochs=50)
    """

    def __init__(self, network: SearchNetwork, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.arch_loss_tracker = keras.metrics.Mean(name="arch_loss")
        self.arch_accuracy_metric = keras.metrics.SparseCategoricalAccuracy(
            name="arch_accuracy")
        self.arch_phase = False
        self.weight_optimizer = None
        self.arch_optimizer = None
        self.weight_decay = 0.0
        self.arch_weight_decay = 0.0
        self.clipnorm = None
        self.traced_structures = 0
        # The supernet creates its variables at construction: nothing is left to build (and
        # Keras must not try to build it from the zipped (weight, arch) data spec).
        self.built = True

    def call(self, x, training=False):
        return self.network(x, training=training)

    def compile(self, weight_optimizer, arch_optimizer, weight_decay=3e-4,
                arch_weight_decay=1e-3, clipnorm=5.0, **kwargs):
        """Sets both optimizers and the DARTS-style coupled (L2) weight decays.

        Args:
            weight_optimizer: updates network weights (SGD in ASAP).
            arch_optimizer: updates the alphas (Adam in ASAP).
            weight_decay: L2 coefficient added to the weight gradients after clipping.
            arch_weight_decay: L2 coefficient added to the alpha gradients.
            clipnorm: global-norm clip of the weight gradients (None: no clipping).
        """
        super().compile(optimizer=weight_optimizer, **kwargs)
        self.weight_optimizer = weight_optimizer
        self.arch_optimizer = arch_optimizer
        self.weight_decay = float(weight_decay)
        self.arch_weight_decay = float(arch_weight_decay)
        self.clipnorm = clipnorm

    def build_optimizers(self):
        """Creates both optimizers' slots; call in the strategy scope before the first step."""
        self.weight_optimizer.build(self.network.weight_variables())
        self.arch_optimizer.build(self.network.arch.alpha_variables)

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_metric, self.arch_loss_tracker,
                self.arch_accuracy_metric]

    def sync_structure(self, force=False):
        """Re-reads alive masks and the arch switch; rebuilds the step functions if changed.

        Returns:
            True if the train and test functions were rebuilt.
        """
        changed = self.network.sync_alive()
        arch_phase = bool(self.network.arch.arch_enabled.numpy() > 0.5)
        changed = changed or arch_phase != self.arch_phase
        self.arch_phase = arch_phase
        if changed or force:
            self.traced_structures += 1
            self.make_train_function(force=True)
            self.make_test_function(force=True)
        return changed or force

    def train_step(self, data):
        (x_weight, y_weight), (x_arch, y_arch) = data
        if self.arch_phase and self.network.undecided_cell_types():
            self._architecture_step(x_arch, y_arch)
        self._weight_step(x_weight, y_weight)
        return {m.name: m.result() for m in self.metrics}

    def _architecture_step(self, x, y):
        """Phase 1: first-order update of alpha on an architecture batch (ASAP Alg. 1)."""
        # A cell type whose edges are all down to one op has no gradient left to follow.
        variables = [self.network.arch.alphas[t] for t in self.network.undecided_cell_types()]
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = _cross_entropy(y, logits)
            scaled = loss / num_replicas()
        grads = sum_over_replicas(tape.gradient(scaled, variables))
        decay = tf.constant(self.arch_weight_decay, tf.float32)
        grads = [g + decay * v for g, v in zip(grads, variables)]
        apply_summed(self.arch_optimizer, grads, variables)
        self.arch_loss_tracker.update_state(loss)
        self.arch_accuracy_metric.update_state(y, logits)

    def _weight_step(self, x, y):
        """Phase 2: SGD on the weights of the alive ops on a weight batch."""
        variables = self.network.live_weight_variables()
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = _cross_entropy(y, logits)
            scaled = loss / num_replicas()
        grads = sum_over_replicas(tape.gradient(scaled, variables))
        if self.clipnorm:
            grads, _ = tf.clip_by_global_norm(grads, self.clipnorm)
        decay = tf.constant(self.weight_decay, tf.float32)  # one constant, not one per var
        grads = [g + decay * v for g, v in zip(grads, variables)]
        apply_summed(self.weight_optimizer, grads, variables)
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(y, logits)

    def test_step(self, data):
        x, y = data
        logits = self(x, training=False)
        self.loss_tracker.update_state(_cross_entropy(y, logits))
        self.accuracy_metric.update_state(y, logits)
        return {"loss": self.loss_tracker.result(), "accuracy": self.accuracy_metric.result()}

    def get_config(self):
        return {"network": keras.saving.serialize_keras_object(self.network),
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network, **config)
