"""The search cell: 2 input nodes, N intermediate nodes, a MixedOp on every edge."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.space.mixed_op import MixedOp
from asap_keras.space.ops import FactorizedReduce, ReLUConvBN


@keras.saving.register_keras_serializable(package="asap_keras")
class SearchCell(keras.layers.Layer):
    """A DARTS cell; node i sums its MixedOps from both inputs and all earlier nodes.

    Args:
        channels: channels C of every node.
        prev_prev_channels: channels of input 0 (the cell before the previous one).
        prev_channels: channels of input 1 (the previous cell).
        reduction: this cell halves the resolution (its edges from the inputs have stride 2).
        reduction_prev: the previous cell halved it (input 0 is factor-reduced to match).
        op_names: candidate ops of every edge.
        nodes: intermediate nodes (4 in DARTS); their concatenation is the output.
    """

    def __init__(self, channels, prev_prev_channels, prev_channels, reduction, reduction_prev,
                 op_names, nodes=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.prev_prev_channels = prev_prev_channels
        self.prev_channels = prev_channels
        self.reduction = reduction
        self.reduction_prev = reduction_prev
        self.op_names = tuple(op_names)
        self.nodes = nodes
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(channels, in_channels=prev_prev_channels,
                                                name="preprocess0")
        else:
            self.preprocess0 = ReLUConvBN(channels, in_channels=prev_prev_channels,
                                          name="preprocess0")
        self.preprocess1 = ReLUConvBN(channels, in_channels=prev_channels, name="preprocess1")
        self.edges = []
        for node in range(nodes):
            for src in range(2 + node):
                stride = 2 if reduction and src < 2 else 1
                self.edges.append(MixedOp(channels, stride, self.op_names,
                                          name=f"edge_{src}_{node + 2}"))
        self.built = True

    @property
    def cell_type(self):
        return "reduce" if self.reduction else "normal"

    def call(self, s0, s1, edge_weights, training=False):
        """Runs the cell; `edge_weights[e]` is the alive-op weight vector of edge e."""
        states = [self.preprocess0(s0, training=training),
                  self.preprocess1(s1, training=training)]
        e = 0
        for _ in range(self.nodes):
            total = None
            for h in states:
                y = self.edges[e](h, edge_weights[e], training=training)
                total = y if total is None else total + y
                e += 1
            states.append(total)
        return tf.concat(states[2:], axis=-1)

    def input_read(self, k):
        """Whether a live op reads cell input `k` (0 or 1).

        A method that prunes whole edges (NAP, GOLD-NAS' free cell) can leave an input with
        no live op on any edge leaving it: its preprocessing then feeds only zeros and gets
        no gradient, so it is not among the live weights.
        """
        e = 0
        for node in range(self.nodes):
            for src in range(2 + node):
                if src == k and self.edges[e].reads_input():
                    return True
                e += 1
        return False

    def live_trainable_weights(self):
        """The weights the current structure trains: the preprocessing of each input a live
        op reads, plus the alive ops' weights of every edge."""
        weights = []
        for k, preprocess in enumerate((self.preprocess0, self.preprocess1)):
            if self.input_read(k):
                weights += preprocess.trainable_weights
        for edge in self.edges:
            weights += edge.live_trainable_weights()
        return weights

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "prev_prev_channels": self.prev_prev_channels,
                "prev_channels": self.prev_channels, "reduction": self.reduction,
                "reduction_prev": self.reduction_prev, "op_names": list(self.op_names),
                "nodes": self.nodes}
