"""MixedOp: an edge's weighted sum of its alive candidate ops, sum_o Phi_o * o(x) (Eq. 2)."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.space.ops import make_op
from asap_keras.space.primitives import NONE


@keras.saving.register_keras_serializable(package="asap_keras")
class MixedOp(keras.layers.Layer):
    """All candidate ops of one edge; only the alive ones are called.

    `alive` (a tuple of op indices) is set by the network from the mask Variable before a
    train function is traced, so a pruned op is absent from the traced graph.

    Args:
        channels: channels of the edge.
        stride: 1, or 2 for edges leaving a reduction cell's inputs.
        op_names: candidate op names.
    """

    def __init__(self, channels, stride, op_names, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.stride = stride
        self.op_names = tuple(op_names)
        self.ops = [make_op(n, channels, stride, layer_name=n) for n in self.op_names]
        self.alive = tuple(range(len(self.op_names)))
        self.built = True

    def call(self, x, weights=None, training=False):
        """Sums the alive ops weighted by `weights` (one entry per alive op, in order).

        `weights=None` with a single alive op returns its output as is: under softmax a
        lone op weighs exactly 1. Under sigmoid or identity weights a lone op is still
        scaled by its weight, so the network passes them. `none` adds zeros, so it is
        skipped in the sum (its weight still normalises Phi). An edge with no alive op
        (pruned away) contributes zeros.
        """
        if not self.alive:
            return tf.zeros_like(x[:, ::self.stride, ::self.stride, :])
        if weights is None and len(self.alive) == 1:
            return self.ops[self.alive[0]](x, training=training)
        out = None
        weights = tf.unstack(weights, num=len(self.alive))
        for k, index in enumerate(self.alive):
            if self.op_names[index] == NONE:
                continue
            y = self.ops[index](x, training=training)
            # Phi is float32 (the softmax of float32 alphas); the ops compute in the policy's
            # compute dtype (float16/bfloat16 under mixed precision). Keras' __call__ already
            # casts float arguments to it; called any other way, the sum still type-checks.
            # The weight on the right: a constant scalar there (the weight step) gets
            # TensorFlow's one-op Mul gradient.
            term = y * tf.cast(weights[k], y.dtype)
            out = term if out is None else out + term
        if out is None:  # only `none` ops alive
            return self.ops[self.alive[0]](x, training=training)
        return out

    def reads_input(self):
        """Whether the edge's output depends on its input: some alive op is not `none`."""
        return any(self.op_names[i] != NONE for i in self.alive)

    def live_trainable_weights(self):
        """Trainable weights of the alive ops only: the weight step's list for this edge."""
        return [w for i in self.alive for w in self.ops[i].trainable_weights]

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "stride": self.stride,
                "op_names": list(self.op_names)}
