"""MixedOp: an edge's weighted sum of its alive candidate ops, sum_o Phi_o * o(x) (Eq. 2)."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.space import batch_norm, edge_function, graph_cache
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

        The sum is computed by the function of the edge's structure (`edge_function`),
        shared by every edge alike. The alive ops' variables are taken here (in this layer's
        autocast and stateless scopes) and passed to it, read or not.
        """
        if not self.alive:
            return tf.zeros_like(x[:, ::self.stride, ::self.stride, :])
        ops = [self.ops[i] for i in self.alive]
        bn_mode = batch_norm.mode(training)
        values = [v.value for op in ops for v in op.state_variables(bn_mode)]
        if tf.distribute.has_strategy():
            # A distributed variable passed into a function gets no gradient there (only
            # plain ones, read inside, do): under a strategy the values are read here.
            values = [tf.convert_to_tensor(v) for v in values]
        relu_x = graph_cache.relu(x) if any(op.reads_relu() for op in ops) else None
        y, updates = edge_function.weighted_sum([op.spec() for op in ops], bn_mode, x,
                                                relu_x, weights, values)
        statistics = [v for op in ops for v in op.statistics(bn_mode)]
        for variable, value in zip(statistics, updates, strict=True):
            variable.assign(value)
        return y

    def reads_input(self):
        """Whether the edge's output depends on its input: some alive op is not `none`."""
        return any(self.op_names[i] != NONE for i in self.alive)

    def live_trainable_weights(self):
        """Trainable weights of the alive ops only: the weight step's list for this edge."""
        return [w for i in self.alive for w in self.ops[i].trainable_weights]

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "stride": self.stride,
                "op_names": list(self.op_names)}
