"""NAP (Neurocomputing 2022), as METHODS 6 reconstructs it: unnormalised, cell-wide pruning."""

from __future__ import annotations

import numpy as np

from asap_keras.search import derivation, schedules
from asap_keras.search.methods.base import SearchMethod
from asap_keras.space.primitives import node_count


class Nap(SearchMethod):
    """NAP, every rule inferred (METHODS 6): op weight = alpha itself, strength = |alpha|.

    Alphas start at 1/N, so the supernet begins as DARTS' uniform mixture. DARTS first
    order (architecture step first) or, with `nap.levels = "one"`, one joint step. From
    `prune_start` the ops of lowest |alpha| die at epoch ends, ranked over the whole cell
    type, as many as the Zhu-Gupta schedule (power p) says on the way to `keep` ops per
    cell type at `final_epoch`; every node keeps an input (1 edge; 2 for a DARTS cell). The
    cell keeps the surviving ops, at most one per edge (its largest |alpha|) unless
    `multi_op_edges`, or DARTS' top-2 edges by |alpha|. It runs to the epoch cap.
    """

    name = "nap"
    relaxation = "identity"

    def __init__(self, search, num_ops, topology="darts"):
        super().__init__(search, num_ops, topology)
        self.levels = search.nap.levels

    @property
    def table(self):
        return self.search.nap

    def initial_alpha(self):
        return 1.0 / self.num_ops

    def epoch_end_masks(self, state, epoch, cell_types):
        start, end = self.table.epochs_of(self.search.epochs)
        masks = {}
        for cell_type in cell_types:
            alive = np.asarray(state["alive"][cell_type]) > 0.5
            total = alive.size
            final = 1.0 - min(self.table.keep, total) / total
            target = schedules.zhu_gupta_count(epoch + 1, start, end, final, total,
                                               self.table.power)
            count = target - int(total - np.count_nonzero(alive))
            if count > 0:
                masks[cell_type] = schedules.prune_lowest_per_node(
                    np.abs(state["alpha"][cell_type]), alive, count,
                    node_count(alive.shape[0]), schedules.min_live_edges(self.topology))
        return masks or None

    def prune_keys(self, state):
        return {t: np.abs(a) for t, a in state["alpha"].items()}

    def stop_reason(self, state, cell_types):
        del state, cell_types  # the schedule ends at keep ops; the search at its epoch cap

    def derive(self, state, op_names, nodes):
        strength = {t: np.abs(a) for t, a in state["alpha"].items()}
        return derivation.derive(strength, state["alive"], op_names, nodes, self.topology,
                                 self.table.multi_op_edges)
