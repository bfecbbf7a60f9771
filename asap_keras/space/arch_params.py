"""The architecture state as Variables: alphas, alive masks, temperature, grace switch."""

from __future__ import annotations

import keras
import numpy as np

CELL_TYPES = ("normal", "reduce")


@keras.saving.register_keras_serializable(package="asap_keras")
class ArchParams(keras.layers.Layer):
    """Holds alpha (trainable) and the alive masks, T and the arch-step switch (not trainable).

    Alphas and masks are shared by all cells of one type, so they live here once rather than
    on each MixedOp; callbacks assign the non-trainable ones and checkpoints save them all.

    Args:
        edges: edges per cell (14 for 4 nodes).
        num_ops: candidate ops per edge.
        temperature: initial T.
        alpha_scale: alphas start as `alpha_scale * N(0, 1)` (1e-3 as in DARTS).
    """

    def __init__(self, edges, num_ops, temperature=1.0, alpha_scale=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.edges = edges
        self.num_ops = num_ops
        self.initial_temperature = float(temperature)
        self.alpha_scale = alpha_scale
        shape = (edges, num_ops)
        init = keras.initializers.RandomNormal(stddev=alpha_scale)
        self.alphas = {t: self.add_weight(name=f"alpha_{t}", shape=shape, initializer=init)
                       for t in CELL_TYPES}
        self.masks = {t: self.add_weight(name=f"mask_{t}", shape=shape, initializer="ones",
                                         trainable=False)
                      for t in CELL_TYPES}
        self.temperature = self.add_weight(
            name="temperature", shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature), trainable=False)
        # 1.0 while architecture steps run, 0.0 during grace epochs (read with tf.cond).
        self.arch_enabled = self.add_weight(name="arch_enabled", shape=(), initializer="zeros",
                                            trainable=False)
        self.built = True

    def call(self, inputs=None):
        return inputs

    def get_config(self):
        return {**super().get_config(), "edges": self.edges, "num_ops": self.num_ops,
                "temperature": self.initial_temperature, "alpha_scale": self.alpha_scale}

    @property
    def alpha_variables(self):
        """The trainable architecture variables (the architecture step's list)."""
        return [self.alphas[t] for t in CELL_TYPES]

    def alive_indices(self, cell_type):
        """Per edge, the tuple of alive op indices, read from the mask Variable."""
        mask = np.asarray(self.masks[cell_type].numpy()) > 0.5
        return tuple(tuple(int(i) for i in np.nonzero(row)[0]) for row in mask)

    def snapshot(self):
        """The state as numpy: {'alpha': {type: a}, 'alive': {type: m}, 'temperature': T}."""
        return {
            "alpha": {t: np.asarray(self.alphas[t].numpy()) for t in CELL_TYPES},
            "alive": {t: np.asarray(self.masks[t].numpy()) > 0.5 for t in CELL_TYPES},
            "temperature": float(self.temperature.numpy()),
            "arch_enabled": bool(self.arch_enabled.numpy() > 0.5),
        }
