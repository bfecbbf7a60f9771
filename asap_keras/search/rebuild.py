"""When to rebuild the step after prunes: the break-even (ski-rental) rule, in op-steps.

A pruned op weighs 0 at once (its mask Variable), but the traced step keeps computing it
until the step is rebuilt, and a rebuild costs a trace. Rebuilding at every prune pays the
trace too often where steps are cheap (a digits search: 0.35 s steps, 2-12 s traces);
rebuilding rarely wastes compute where steps are dear (the CIFAR supernet: 6.4 s steps).

The rule counts in op-steps. Each train step wastes one op-step per dead op the step still
computes; a rebuild of `live` ops costs `ratio * live` op-steps, where `ratio` is the trace
time of one op over the step time of one op (both grow about linearly with the op count:
benchmarks/README.md; measured here: ~30 on the digits search, 3-6 on the CIFAR supernet).
The step is rebuilt once the waste since the last rebuild reaches that cost: the break-even
strategy of ski rental. After a prune, the op-steps it spends on waste plus the rebuild are
at most twice (plus one step) those of the best choice in hindsight, rebuilding at once or
never (tests/search/test_rebuild.py checks it against a brute force).

The rule reads no clock: its rebuild points follow from the masks alone, so a search is
reproducible bit for bit, on every worker alike. Plain Python, tested on chosen counts.
"""

from __future__ import annotations

import statistics

RULES = ("cost", "epoch")


def dead_ops(traced: int, live: int) -> int:
    """Ops the step computes that are dead (0 when more are alive than traced)."""
    return max(traced - live, 0)


class BreakEven:
    """The break-even rebuild rule's state: op-steps wasted since the last rebuild.

    Args:
        ratio: a rebuild's cost per live op, in op-steps (> 0).

    Example:
    >>> rule = BreakEven(ratio=10.0)
    >>> for _ in range(4):
    ...     rule.step(traced=100, live=50)   # 50 dead ops: 50 op-steps wasted per step
    >>> rule.waste, rule.rebuild_cost(live=50), rule.due(traced=100, live=50)
    (200, 500.0, False)
    """

    def __init__(self, ratio: float):
        if not ratio > 0:
            raise ValueError(f"ratio must be > 0. Received: ratio={ratio!r}")
        self.ratio = float(ratio)
        self.waste = 0

    def step(self, traced: int, live: int):
        """One train step on a step function tracing `traced` ops, `live` of them alive."""
        self.waste += dead_ops(traced, live)

    def rebuilt(self):
        """The step was rebuilt: it computes no dead op, the waste starts again at 0."""
        self.waste = 0

    def rebuild_cost(self, live: int) -> float:
        """A rebuild of a step of `live` ops, in op-steps."""
        return self.ratio * live

    def due(self, traced: int, live: int) -> bool:
        """Whether the waste since the last rebuild has reached a rebuild's cost."""
        return dead_ops(traced, live) > 0 and self.waste >= self.rebuild_cost(live)


# The reason of a test function's trace (validation's first batch after it was remade);
# every other `trace` event is a train function's.
VALIDATION_TRACE = "validation"
_FIRST_BATCH_REASONS = ("start", "grace_end", "epoch_end")  # rebuilt before batch 0
# Those that trace the whole step: at grace's end alone only the architecture phase is
# traced (the weight phase's function serves on, `SearchModel.make_train_function`).
_WHOLE_STEP_REASONS = ("start", "epoch_end")


def measured_ratio(traces, epochs) -> float | None:
    """The ratio a finished run's events measure: (trace seconds - step) / step.

    From each `trace` event (fields `epoch`, `seconds`, `reason`) that is its epoch's only
    one, happened at its first batch (its reasons are all of start, grace_end, epoch_end)
    and traced the whole step (start or epoch_end among them: grace_end alone traces only
    the architecture phase), with that `epoch` event's steady `step_seconds` (same
    structure all epoch), of an epoch with architecture steps (`grace` false: the
    two-phase step). The median over such epochs; None without one. Test functions'
    traces (reason "validation") are left out.
    """
    per_epoch = {}
    for trace in traces:
        if trace.get("reason") == VALIDATION_TRACE:
            continue
        per_epoch.setdefault(trace["epoch"], []).append(trace)
    ratios = []
    for epoch in epochs:
        found = per_epoch.get(epoch["epoch"], [])
        step = epoch.get("step_seconds")
        reasons = set(found[0]["reason"].split("+")) if len(found) == 1 else set()
        if (not reasons <= set(_FIRST_BATCH_REASONS) or not reasons & set(_WHOLE_STEP_REASONS)
                or epoch.get("grace", True) or not step or step <= 0):
            continue
        ratios.append(max(found[0]["seconds"] - step, 0.0) / step)
    return statistics.median(ratios) if ratios else None


def trace_share(traces, run_ends) -> tuple[float, float] | None:
    """`(trace seconds, search seconds)` of a run's events: the summed `seconds` of its
    `trace` events (train and test functions alike) and of its `run_end` events (one per
    session); None before any session ended with its seconds."""
    search = sum(float(end.get("seconds") or 0.0) for end in run_ends)
    if search <= 0:
        return None
    return sum(float(trace["seconds"] or 0.0) for trace in traces), search
