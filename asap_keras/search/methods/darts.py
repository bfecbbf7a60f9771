"""DARTS (Liu et al., 2019): T = 1, no pruning, first or second order, one final prune."""

from __future__ import annotations

from asap_keras.search import gradients
from asap_keras.search.methods.base import SearchMethod


class Darts(SearchMethod):
    """Architecture step first, then the weight step; the cell is derived once, at the end.

    `[search.darts] order = 2` takes the unrolled gradient with xi = the current weight
    learning rate (`gradients.unrolled`).
    """

    name = "darts"

    def arch_gradients(self, model, weight_batch, arch_batch, alphas):
        if self.search.darts.order == 1:
            return gradients.first_order(model, arch_batch, alphas)
        xi = model.weight_optimizer.learning_rate
        return gradients.unrolled(model, weight_batch, arch_batch, alphas, xi)
