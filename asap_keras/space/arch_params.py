"""The architecture state as Variables: alphas, alive masks, T, theta, the arch-step switch."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from asap_keras.space import relaxation as relaxation_lib
from asap_keras.space.relaxation import RELAXATIONS

CELL_TYPES = ("normal", "reduce")
# Logit given to a masked op: exp() of it is exactly 0 next to any alive op's logit.
_MASKED_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="asap_keras")
class ArchParams(keras.layers.Layer):
    """Alphas (trainable) and the search state a callback or the step assigns (not trainable).

    Alphas and masks are shared by all cells of one type, so they live here once rather than
    on each MixedOp. Every variable is saved in checkpoints. The step itself assigns the masks
    (ASAP Alg. 1 prunes right after each architecture step), so they and the alphas it freezes
    are created with `only_first_replica` aggregation: every replica computes the same value.
    Every variable is float32 and read as float32 under a mixed dtype policy too
    (`autocast=False`), so the relaxation's softmax never runs in half precision.

    Variables:
        alpha_<type>: `(edges, ops)` architecture parameters.
        mask_<type>: 1 alive, 0 pruned. An op once pruned never comes back.
        pruned_at_<type>: global step at which each op was pruned, -1 while alive.
        pruned_weight_<type>: the op's ranking key when it was pruned (Phi for ASAP).
        score_<type>: a per-op score a method accumulates (accumulated-gradient pruning).
        temperature, threshold: T and theta of the current epoch.
        arch_enabled: 1.0 once T is below the grace temperature.
        resource_weight, resource_step: GOLD-NAS' lambda (the weight of its resource term)
            and the step dlam its controller adds (0 for the other methods).

    Args:
        edges: edges per cell (14 for 4 nodes).
        num_ops: candidate ops per edge.
        temperature: initial T.
        alpha_scale: alphas start at `alpha_mean + alpha_scale * N(0, 1)`; 0 starts them at
            `alpha_mean` exactly (0 for ASAP, Algorithm 1; DARTS adds 1e-3 noise).
        relaxation: how alpha becomes op weights, one of `relaxation.RELAXATIONS`:
            "softmax" (Eq. 3), "sigmoid" (GOLD-NAS gates), "identity" (NAP).
        alpha_mean: the alphas' starting value (NAP: 1/N).
    """

    def __init__(self, edges, num_ops, temperature=1.0, alpha_scale=0.0, relaxation="softmax",
                 alpha_mean=0.0, **kwargs):
        super().__init__(**kwargs)
        if relaxation not in RELAXATIONS:
            raise ValueError(f"relaxation must be one of {RELAXATIONS}. "
                             f"Received: relaxation={relaxation!r}")
        self.edges = edges
        self.num_ops = num_ops
        self.initial_temperature = float(temperature)
        self.alpha_scale = float(alpha_scale)
        self.relaxation = relaxation
        self.alpha_mean = float(alpha_mean)
        shape = (edges, num_ops)
        if self.alpha_scale:
            init = keras.initializers.RandomNormal(mean=self.alpha_mean, stddev=self.alpha_scale)
        else:
            init = keras.initializers.Constant(self.alpha_mean)
        state = {"trainable": False, "aggregation": "only_first_replica", "autocast": False}
        self.alphas = {t: self.add_weight(name=f"alpha_{t}", shape=shape, initializer=init,
                                          aggregation="only_first_replica", autocast=False)
                       for t in CELL_TYPES}
        self.masks = {t: self.add_weight(name=f"mask_{t}", shape=shape, initializer="ones",
                                         **state)
                      for t in CELL_TYPES}
        self.pruned_at = {t: self.add_weight(name=f"pruned_at_{t}", shape=shape,
                                             initializer=keras.initializers.Constant(-1.0),
                                             **state)
                          for t in CELL_TYPES}
        self.pruned_weight = {t: self.add_weight(name=f"pruned_weight_{t}", shape=shape,
                                                 initializer="zeros", **state)
                              for t in CELL_TYPES}
        self.scores = {t: self.add_weight(name=f"score_{t}", shape=shape, initializer="zeros",
                                          **state)
                       for t in CELL_TYPES}
        scalar = {"shape": (), "trainable": False, "autocast": False}
        self.temperature = self.add_weight(
            name="temperature",
            initializer=keras.initializers.Constant(self.initial_temperature), **scalar)
        self.threshold = self.add_weight(name="threshold", initializer="zeros", **scalar)
        # 1.0 while architecture steps run, 0.0 during grace epochs (read at trace time).
        self.arch_enabled = self.add_weight(name="arch_enabled", initializer="zeros", **scalar)
        # GOLD-NAS' controller state: read by the step's loss, assigned at epoch ends.
        self.resource_weight = self.add_weight(name="resource_weight", initializer="zeros",
                                               **scalar)
        self.resource_step = self.add_weight(name="resource_step", initializer="zeros",
                                             **scalar)
        self.built = True

    def call(self, inputs=None):
        return inputs

    def get_config(self):
        return {**super().get_config(), "edges": self.edges, "num_ops": self.num_ops,
                "temperature": self.initial_temperature, "alpha_scale": self.alpha_scale,
                "relaxation": self.relaxation, "alpha_mean": self.alpha_mean}

    @property
    def alpha_variables(self):
        """The trainable architecture variables (the architecture step's list)."""
        return [self.alphas[t] for t in CELL_TYPES]

    def weights_of(self, cell_type):
        """The op weights `(edges, ops)` under the relaxation, 0 for pruned ops.

        softmax: Phi = softmax(alpha / T) over each edge's alive ops (Eq. 3); sigmoid:
        sigmoid(alpha) per op (GOLD-NAS); identity: alpha (NAP). A tensor read from the
        Variables when the step runs, so an op pruned inside the step leaves the sum at once.
        An edge with no alive op weighs 0 everywhere.
        """
        mask = self.masks[cell_type].value
        alpha = self.alphas[cell_type].value
        if self.relaxation == "sigmoid":
            return tf.sigmoid(alpha) * mask
        if self.relaxation == "identity":
            return alpha * mask
        logits = alpha / self.temperature.value
        phi = tf.nn.softmax(tf.where(mask > 0.5, logits, _MASKED_LOGIT), axis=-1)
        return phi * tf.reduce_max(mask, axis=-1, keepdims=True)

    @property
    def normalized(self) -> bool:
        """Each edge's weights sum to 1 (softmax): a lone op weighs exactly 1."""
        return self.relaxation == "softmax"

    def movable(self, cell_type):
        """1 where the architecture step may change alpha.

        Pruned ops keep the alpha they died with. Under softmax a decided edge (one op left)
        keeps its alphas too, so the derivation compares edges on what they learned while
        competing; under sigmoid and identity a lone op's weight still scales its output,
        so every alive op moves.
        """
        mask = self.masks[cell_type].value
        if not self.normalized:
            return mask > 0.5
        undecided = tf.reduce_sum(mask, axis=-1, keepdims=True) > 1.5
        return tf.logical_and(mask > 0.5, undecided)

    def prune(self, cell_types, step):
        """Kills every alive op with Phi < theta at once (ASAP Alg. 1, lines 7-8).

        Runs inside the step after the architecture update. An edge never loses its last
        op: with softmax weights the strongest has Phi >= 1/N > theta, and a guard keeps it
        anyway. Records the step and the weight of each op it kills.

        Args:
            cell_types: the cell types to prune.
            step: the global step (a scalar tensor).
        """
        theta = self.threshold.value
        for cell_type in cell_types:
            mask = self.masks[cell_type].value
            phi = self.weights_of(cell_type)
            alive = mask > 0.5
            keep = tf.logical_and(alive, phi >= theta)
            strongest = tf.one_hot(tf.argmax(tf.where(alive, phi, -1.0), axis=-1),
                                   self.num_ops, on_value=True, off_value=False)
            lost_all = tf.logical_and(tf.reduce_any(alive, axis=-1, keepdims=True),
                                      tf.logical_not(tf.reduce_any(keep, axis=-1, keepdims=True)))
            keep = tf.logical_or(keep, tf.logical_and(lost_all, strongest))
            dies = tf.logical_and(alive, tf.logical_not(keep))
            step_value = tf.cast(step, tf.float32)
            self.pruned_at[cell_type].assign(
                tf.where(dies, step_value, self.pruned_at[cell_type].value))
            self.pruned_weight[cell_type].assign(
                tf.where(dies, phi, self.pruned_weight[cell_type].value))
            self.masks[cell_type].assign(tf.cast(keep, mask.dtype))

    def apply_prune(self, cell_type, keep, step, key=None):
        """Host side: sets a new alive mask (a subset of the current one), recording the step
        and the key of each op it kills; for methods that prune at epoch ends.

        Args:
            cell_type: "normal" or "reduce".
            keep: the new alive mask `(edges, ops)`.
            step: the global step recorded for the ops that die.
            key: `(edges, ops)` values recorded as each dead op's `pruned_weight` (the
                method's ranking key); default: the op weights under the relaxation.
        """
        alive = np.asarray(self.masks[cell_type].numpy()) > 0.5
        keep = np.asarray(keep) > 0.5
        dies = alive & ~keep
        if key is None:
            key = relaxation_lib.weights(self.relaxation, self.alphas[cell_type].numpy(),
                                         float(self.temperature.numpy()), alive)
        self.pruned_at[cell_type].assign(
            np.where(dies, float(step), self.pruned_at[cell_type].numpy()))
        self.pruned_weight[cell_type].assign(
            np.where(dies, key, self.pruned_weight[cell_type].numpy()).astype(np.float32))
        self.masks[cell_type].assign((alive & keep).astype(np.float32))

    def alive_indices(self, cell_type):
        """Per edge, the tuple of alive op indices, read from the mask Variable."""
        mask = np.asarray(self.masks[cell_type].numpy()) > 0.5
        return tuple(tuple(int(i) for i in np.nonzero(row)[0]) for row in mask)

    def snapshot(self):
        """The state as numpy: alpha, alive, pruned_at, pruned_weight, scores (per type), T,
        theta, the architecture switch, the relaxation and GOLD's lambda and dlam."""
        return {
            "alpha": {t: np.asarray(self.alphas[t].numpy()) for t in CELL_TYPES},
            "alive": {t: np.asarray(self.masks[t].numpy()) > 0.5 for t in CELL_TYPES},
            "pruned_at": {t: np.asarray(self.pruned_at[t].numpy()).astype(np.int64)
                          for t in CELL_TYPES},
            "pruned_weight": {t: np.asarray(self.pruned_weight[t].numpy())
                              for t in CELL_TYPES},
            "scores": {t: np.asarray(self.scores[t].numpy()) for t in CELL_TYPES},
            "temperature": float(self.temperature.numpy()),
            "threshold": float(self.threshold.numpy()),
            "arch_enabled": bool(self.arch_enabled.numpy() > 0.5),
            "relaxation": self.relaxation,
            "resource_weight": float(self.resource_weight.numpy()),
            "resource_step": float(self.resource_step.numpy()),
        }
