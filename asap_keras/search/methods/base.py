"""The search method interface: what ASAP, DARTS and the pruning baselines each decide."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asap_keras.search import gradients, resource, schedules
from asap_keras.space import genotype as genotype_lib


@dataclass(frozen=True)
class EpochSchedule:
    """What a method sets at the start of an epoch (None: the step sets it, as PAC does)."""

    temperature: float | None
    threshold: float | None
    arch_steps: bool


class SearchMethod:
    """A NAS method on the shared engine; a subclass overrides only what differs.

    The one `SearchModel` runs every method: its step runs the two phases in the method's
    order (or, with `levels = "one"`, one joint step on one batch of the whole training
    set, adding `extra_loss`), takes the method's architecture gradient, lets it observe
    that gradient and, when `prunes_in_step`, kills every op under theta right after the
    architecture update. The callbacks ask `epoch_schedule` at each epoch start,
    `epoch_end_masks` and `end_epoch` at each end and `stop_reason` after every change; the
    recorder and the runner ask `derive`. The defaults are DARTS first order: softmax,
    T = 1, no grace, no pruning, architecture step first, stop once every edge keeps one op.

    Args:
        search: the `[search]` table.
        num_ops: N, the candidate ops of an edge.
        topology: `space.topology`, "darts" or "free" (the cell `derive` reads out).
    """

    name = ""
    weight_first = False
    prunes_in_step = False
    levels = "two"  # "one": weights and alpha from one batch of the whole training set
    relaxation = "softmax"  # how alpha becomes op weights (`relaxation.RELAXATIONS`)
    records_pareto = False  # GOLD-NAS: a Pareto record per epoch (`callbacks.ParetoRecord`)

    def __init__(self, search, num_ops, topology="darts"):
        self.search = search
        self.num_ops = num_ops
        self.topology = topology
        self.geometry = None
        self.cost = None

    def bind(self, geometry) -> None:
        """Gives the method the supernet's `resource.Geometry` (its multiply-adds)."""
        self.geometry = geometry
        self.cost = resource.supernet_cost(geometry)

    def initial_alpha(self) -> float:
        """The value every alpha starts at (before `search.alpha_init`'s noise)."""
        return 0.0

    def epoch_schedule(self, epoch) -> EpochSchedule:
        """T, theta and the architecture switch of epoch `epoch`."""
        del epoch
        return EpochSchedule(temperature=1.0, threshold=0.0, arch_steps=True)

    def step_schedule(self, arch, t) -> None:
        """In the step, before the architecture update `t` (from 1): per-update schedules."""
        del arch, t

    def arch_gradients(self, model, weight_batch, arch_batch, alphas):
        """`(loss, logits, grads)` of the architecture step (default: first order)."""
        del weight_batch
        return gradients.first_order(model, arch_batch, alphas)

    def extra_loss(self, arch, cell_types):
        """In a one-level step: a term added to the loss (a scalar tensor), or None."""
        del arch, cell_types

    def observe_gradients(self, arch, cell_types, grads) -> None:
        """In the step: sees the raw alpha gradients (before decay and the optimizer)."""
        del arch, cell_types, grads

    def epoch_end_masks(self, state, epoch, cell_types) -> dict | None:
        """New alive masks after epoch `epoch` (numpy), or None to prune nothing."""
        del state, epoch, cell_types
        return None

    def prune_keys(self, state) -> dict | None:
        """Cell type -> the `(edges, ops)` key recorded as a dead op's weight at an epoch-end
        prune (None: its weight under the relaxation)."""
        del state

    def end_epoch(self, arch, epoch, pruned) -> None:
        """After epoch `epoch`'s end prune, which killed `pruned` ops: per-epoch state."""
        del arch, epoch, pruned

    def stop_reason(self, state, cell_types) -> str | None:
        """Why the search is over in `state` ("discrete": every edge keeps one op), or None."""
        if all(schedules.is_discrete(state["alive"][t]) for t in cell_types):
            return "discrete"
        return None

    def supernet_madds(self, state) -> int | None:
        """Multiply-adds of the supernet's alive ops (None before `bind`)."""
        if self.cost is None:
            return None
        return self.cost.madds(state["alive"])

    def epoch_fields(self, state) -> dict:
        """Fields the method adds to each `epoch` event."""
        del state
        return {}

    def derive(self, state, op_names, nodes) -> genotype_lib.Genotype:
        """The cell of an architecture state (default: `genotype.derive`)."""
        return genotype_lib.derive(state, op_names, nodes)


class ScheduledPruning(SearchMethod):
    """DARTS first order plus pruning on the Zhu-Gupta schedule (ASAP Sec. 4.4, Eq. 13).

    After `t` epochs, `round(s_t * M)` of a cell type's M ops are pruned: those of lowest
    `scores`, ranked over all edges of the cell type, never an edge's last op. With the
    default final sparsity 1 - 1/N every edge keeps one op at the final epoch.
    """

    table_name = ""

    @property
    def table(self):
        return getattr(self.search, self.table_name)

    def scores(self, state, cell_type):
        """`(edges, ops)` ranking key of a cell type: lower dies first."""
        raise NotImplementedError

    def epoch_end_masks(self, state, epoch, cell_types):
        start, end = self.table.epochs_of(self.search.epochs)
        final = self.table.final_sparsity or 1.0 - 1.0 / self.num_ops
        masks = {}
        for cell_type in cell_types:
            alive = state["alive"][cell_type]
            target = schedules.zhu_gupta_count(epoch + 1, start, end, final, alive.size,
                                               self.table.power)
            count = target - int(alive.size - np.count_nonzero(alive))
            if count > 0:
                masks[cell_type] = schedules.prune_lowest(self.scores(state, cell_type),
                                                          alive, count)
        return masks or None
