"""SearchModel: fit() with two optimizers, a weight phase and an architecture phase."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras import precision
from asap_keras.replicas import (
    BuiltForWorkers,
    apply_summed,
    clip_by_global_norm,
    num_replicas,
    step_logs,
    sum_over_replicas,
)
from asap_keras.search.gradients import cross_entropy
from asap_keras.space.network import SearchNetwork
from asap_keras.step_function import (
    FlatStepFunctions,
    iterator_step_function,
    replica_function,
)


@keras.saving.register_keras_serializable(package="asap_keras")
class SearchModel(FlatStepFunctions, BuiltForWorkers, keras.Model):
    """Wraps a `SearchNetwork`; `train_step` follows ASAP Algorithm 1.

    Each step: a weight step, then (past grace) an architecture step and the prune of every
    op with Phi < theta, which sets mask Variables inside the step. Which ops the step
    computes and whether the architecture phase runs are read at trace time;
    `sync_structure()` rebuilds the step functions from the masks, so a pruned op leaves the
    graph at the next rebuild (it weighs 0 until then). (Under MirroredStrategy a `tf.cond`
    around an optimizer update is refused: a cross-replica sync point inside control flow.)
    A one-level method (`method.levels == "one"`, GOLD-NAS) instead gets `(x, y)` batches
    of the whole training set and takes one joint step per batch (`_one_level_step`).

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
        # A one-level method's extra loss term (GOLD-NAS: lambda * C(alpha)).
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.arch_phase = False
        self.weight_optimizer = None
        self.arch_optimizer = None
        self.weight_decay = 0.0
        self.arch_weight_decay = 0.0
        self.clipnorm = None
        self.method = None
        self.traced_structures = 0  # train-function rebuilds so far
        self.test_functions = 0  # test functions made so far (each traces at its first call)
        # The rebuild rule's state, saved in checkpoints: op-steps wasted on dead ops since the
        # last rebuild, and a structure to trace at the next rebuild instead of the masks'
        # (set by a resume: the step computed it when the checkpoint was written).
        self.rebuild_waste = 0
        self.pending_structure = None
        self.rebuild_reasons = []
        self._phase_cache = {}  # phase name -> (structure key, traced function)
        # The supernet creates its variables at construction: nothing is left to build (and
        # Keras must not try to build it from the zipped (weight, arch) data spec).
        self.built = True

    def call(self, x, training=False, arch_fixed=False):
        return self.network(x, training=training, arch_fixed=arch_fixed)

    def compile(self, weight_optimizer, arch_optimizer, weight_decay=3e-4,
                arch_weight_decay=1e-3, clipnorm=5.0, method=None, **kwargs):
        """Sets both optimizers, the DARTS-style coupled (L2) weight decays and the method.

        Under a "mixed_float16" dtype policy both optimizers are wrapped in a
        `keras.optimizers.LossScaleOptimizer` (unless `auto_scale_loss=False`), as
        `keras.Model.compile` wraps its one optimizer.

        Args:
            weight_optimizer: updates network weights (SGD in ASAP).
            arch_optimizer: updates the alphas (Adam in ASAP).
            weight_decay: L2 coefficient added to the weight gradients after clipping.
            arch_weight_decay: L2 coefficient added to the alpha gradients.
            clipnorm: global-norm clip of the weight gradients (None: no clipping).
            method: the `SearchMethod` (default: ASAP with the paper's settings).
            **kwargs: `keras.Model.compile` arguments (`jit_compile`, `auto_scale_loss`).
        """
        if kwargs.get("auto_scale_loss", True):
            weight_optimizer = precision.with_loss_scaling(weight_optimizer, self.dtype_policy)
            arch_optimizer = precision.with_loss_scaling(arch_optimizer, self.dtype_policy)
        super().compile(optimizer=weight_optimizer, **kwargs)
        if method is None:
            from asap_keras.search.config import SearchConfig
            from asap_keras.search.methods import make_method

            method = make_method(SearchConfig(), len(self.network.op_names))
        self.method = method
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
                self.arch_accuracy_metric, self.penalty_tracker]

    def sync_structure(self, reason="structure", force=False, follow_prunes=True):
        """Re-reads the masks and the arch switch; rebuilds step functions that changed.

        A change of the alive ops rebuilds the train and the test function; a flip of the
        architecture switch only the train function (the test step has no such phase).
        Rebuilding is lazy: the next call of a rebuilt function traces it.

        Args:
            reason: why, reported in the next `trace` event (e.g. "epoch_end").
            force: rebuild both even if nothing changed (and trace every phase anew).
            follow_prunes: False to rebuild only for a flip of the switch (a prune's
                compute then stays in the step until the rebuild rule drops it; a rebuild
                for the switch drops it anyway).

        Returns:
            True if a step function was rebuilt.
        """
        arch_phase = bool(self.network.arch.arch_enabled.numpy() > 0.5)
        phase_changed = arch_phase != self.arch_phase
        if not (follow_prunes or phase_changed or force):
            return False
        alive_changed = self.network.sync_alive(self.pending_structure) or force
        if force:
            self._phase_cache = {}
        self.pending_structure = None
        self.arch_phase = arch_phase
        if not (alive_changed or phase_changed):
            return False
        self.traced_structures += 1
        self.rebuild_reasons.append(reason)
        self.make_train_function(force=True)
        if alive_changed:
            self.make_test_function(force=True)
        return True

    def make_test_function(self, force=False):
        previous = self.test_function
        function = super().make_test_function(force=force)
        if function is not previous:
            self.test_functions += 1
        return function

    def take_rebuild_reasons(self):
        """The reasons of the rebuilds since the last call, joined with '+' (then cleared)."""
        reasons, self.rebuild_reasons = self.rebuild_reasons, []
        return "+".join(dict.fromkeys(reasons))

    def train_step(self, data):
        """One iteration: the weight and (past grace) the architecture phase, in the method's
        order (ASAP Alg. 1: weight step first; DARTS: architecture step first); or, for a
        one-level method (`method.levels == "one"`, GOLD-NAS), one joint step on one batch.
        """
        if self.method.levels == "one":
            return self._one_level_step(*data)
        return self._run_phases(data, self._phases())

    def _run_phases(self, data, phases):
        """Runs `phases` (functions `phase(data, step) -> logs`) on one iteration's batches;
        their logs in `metrics` order."""
        step = tf.identity(self.weight_optimizer.iterations)  # this iteration's global index
        logs = {}
        for phase in phases:
            logs.update(phase(data, step))
        return {m.name: logs[m.name] for m in self.metrics if m.name in logs}

    def _phases(self):
        """The phases of an iteration, in the method's order: the weight phase, and past
        grace the architecture phase while a cell type is undecided (read at trace time:
        the structure and the switch are Python state). Without an architecture phase its
        trackers hold nothing and stay off the logs (and the progress bar)."""
        phases = [self._weight_phase]
        if self.arch_phase and self.network.undecided_cell_types():
            phases.insert(1 if self.method.weight_first else 0, self._arch_phase)
        return phases

    def _weight_phase(self, data, step):
        self._weight_step(*data[0])
        return step_logs([self.loss_tracker, self.accuracy_metric])

    def _arch_phase(self, data, step):
        weight_batch, arch_batch = data
        self._architecture_step(weight_batch, arch_batch, self.network.undecided_cell_types(),
                                step)
        return step_logs([self.arch_loss_tracker, self.arch_accuracy_metric])

    def make_train_function(self, force=False):
        """Under `FlatStepFunctions`, a two-level search traces each phase as a function of
        its own (`step_function.replica_function`), cached per structure: the weight phase
        traced in grace serves unchanged once the architecture phase joins it, so the switch
        at grace's end traces only the architecture phase."""
        if self.method is None or self.method.levels == "one" or not self._flat_steps():
            return super().make_train_function(force=force)
        if self.train_function is not None and not force:
            return self.train_function
        structure = tuple(sorted(self.network.traced_structure().items()))
        phases = self._phases()
        traced = [self._phase_function(phase, structure) for phase in phases]
        # A phase left out (every cell type decided) releases its graph.
        self._phase_cache = {p.__name__: self._phase_cache[p.__name__] for p in phases}
        self.train_function = iterator_step_function(
            self, lambda data: self._run_phases(data, traced))
        self.train_function.phases = traced
        return self.train_function

    def _phase_function(self, phase, structure):
        """The traced function of `phase` for `structure` (which also fixes the undecided
        cell types): the cached one if it was made for it, else a new one."""
        cached = self._phase_cache.get(phase.__name__)
        if cached is None or cached[0] != structure:
            cached = (structure, replica_function(self, phase))
            self._phase_cache[phase.__name__] = cached
        return cached[1]

    def _architecture_step(self, weight_batch, arch_batch, cell_types, step):
        """Updates alpha on an architecture batch (ASAP Alg. 1, line 6), then lets the
        method prune every op under theta (lines 7-8).
        """
        arch = self.network.arch
        variables = [arch.alphas[t] for t in cell_types]
        self.method.step_schedule(arch, self.arch_optimizer.iterations + 1)
        loss, logits, grads = self.method.arch_gradients(self, weight_batch, arch_batch,
                                                         variables)
        self._apply_arch_gradients(grads, variables, cell_types)
        if self.method.prunes_in_step:
            arch.prune(cell_types, step)
        self.arch_loss_tracker.update_state(loss)
        self.arch_accuracy_metric.update_state(arch_batch[1], logits)

    def _apply_arch_gradients(self, grads, variables, cell_types):
        """Shows the method the raw alpha gradients, adds the L2 decay and applies them.

        Only the ops `ArchParams.movable` names move: the others are put back after the
        update (momentum would otherwise keep moving them).
        """
        arch = self.network.arch
        self.method.observe_gradients(arch, cell_types,
                                      precision.finite_or_zero(self.arch_optimizer, grads))
        decay = tf.constant(self.arch_weight_decay, tf.float32)
        grads = [g + decay * v for g, v in zip(grads, variables)]
        movable = [arch.movable(t) for t in cell_types]
        before = [tf.identity(v.value) for v in variables]
        apply_summed(self.arch_optimizer, grads, variables)
        for variable, old, move in zip(variables, before, movable):
            variable.assign(tf.where(move, variable.value, old))

    def _weight_step(self, x, y):
        """SGD on the weights of the ops in the structure on a weight batch (Alg. 1, line 4)."""
        variables = self.network.live_weight_variables()
        optimizer = self.weight_optimizer
        with tf.GradientTape() as tape:
            logits = self(x, training=True, arch_fixed=True)
            loss = cross_entropy(y, logits)
            scaled = precision.scale_loss(optimizer, loss) / num_replicas()
        grads = sum_over_replicas(tape.gradient(scaled, variables))
        self._apply_weight_gradients(precision.unscale(optimizer, grads), variables)
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(y, logits)

    def _apply_weight_gradients(self, grads, variables):
        """Clips the weight gradients by global norm, adds the L2 decay and applies them."""
        if self.clipnorm:
            grads = clip_by_global_norm(grads, self.clipnorm)
        decay = tf.constant(self.weight_decay, tf.float32)  # one constant, not one per var
        grads = [g + decay * v for g, v in zip(grads, variables)]
        apply_summed(self.weight_optimizer, grads, variables)

    def _one_level_step(self, x, y):
        """One-level search (GOLD-NAS): one batch of the whole training set, one loss.

        loss = cross-entropy + the method's extra term (GOLD: lambda * C(alpha)); one
        gradient computation gives both groups' gradients, each applied by its own
        optimizer as the two-level phases apply theirs (weights: clip, decay, SGD; alpha:
        decay, the arch optimizer, frozen ops put back). Past grace only; before it, the
        weights alone. Under loss scaling the one loss is scaled by the weight optimizer's
        scale; each optimizer then checks its own share of the gradients.
        """
        arch = self.network.arch
        cell_types = self.network.undecided_cell_types() if self.arch_phase else ()
        weights = self.network.live_weight_variables()
        alphas = [arch.alphas[t] for t in cell_types]
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = cross_entropy(y, logits)
            extra = self.method.extra_loss(arch, cell_types) if cell_types else None
            total = loss if extra is None else loss + extra
            scaled = precision.scale_loss(self.weight_optimizer, total) / num_replicas()
        grads = sum_over_replicas(tape.gradient(scaled, weights + alphas))
        grads = precision.unscale(self.weight_optimizer, grads)
        self._apply_weight_gradients(grads[:len(weights)], weights)
        if cell_types:
            self._apply_arch_gradients(grads[len(weights):], alphas, cell_types)
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(y, logits)
        shown = [self.loss_tracker, self.accuracy_metric]
        if extra is not None:
            self.penalty_tracker.update_state(extra)
            shown.append(self.penalty_tracker)
        return step_logs(shown)

    def test_step(self, data):
        x, y = data
        logits = self(x, training=False)
        self.loss_tracker.update_state(cross_entropy(y, logits))
        self.accuracy_metric.update_state(y, logits)
        return step_logs([self.loss_tracker, self.accuracy_metric])

    def get_config(self):
        return {"network": keras.saving.serialize_keras_object(self.network),
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network, **config)
