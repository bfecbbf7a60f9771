"""Magnitude pruning (ASAP Sec. 4.4): the Zhu-Gupta count of the ops of lowest weight."""

from __future__ import annotations

from asap_keras.search.methods.base import ScheduledPruning
from asap_keras.space import relaxation


class Magnitude(ScheduledPruning):
    """Ranks ops by Phi (softmax over the alive ops at T = 1) or, with `key = "alpha"`, by
    raw alpha. Within an edge both orders agree; across edges only Phi is comparable
    (softmax ignores a constant added to one edge's logits)."""

    name = "magnitude"
    table_name = "magnitude"

    def scores(self, state, cell_type):
        alpha = state["alpha"][cell_type]
        if self.table.key == "alpha":
            return alpha
        return relaxation.op_weights(alpha, state["temperature"], state["alive"][cell_type])
