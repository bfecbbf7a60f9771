"""When to rebuild the step after prunes: the break-even (ski-rental) rule.

A pruned op weighs 0 at once (its mask Variable), but the traced step keeps computing it
until the step is rebuilt, and a rebuild costs a trace. Rebuilding at every prune pays the
trace too often where steps are cheap (a digits search: 0.35 s steps, 2-12 s traces);
rebuilding rarely wastes compute where steps are dear (the CIFAR supernet: 6.4 s steps).

The rule: keep a running sum of the compute the step has wasted on dead ops since the
last rebuild, and rebuild once it reaches what a rebuild of the live structure would cost.
This is the break-even strategy of the ski-rental problem: after a prune, the time it
spends on wasted compute plus the rebuild is at most twice (plus one step) that of the
best choice made in hindsight, rebuilding at once or never (with the costs below as the
model; tests/search/test_rebuild.py checks it against a brute force).

Where it differs from rebuilding at fixed points (`"epoch"`): the numbers. A dead op's term
is an exact 0, but a rebuild changes the order in which TensorFlow sums gradients, and the
rule's rebuild points follow measured times: two runs agree to rounding, not bit for bit.

Both costs are measured during the search, on the structure the step computes:
- a step's waste is its measured time times the share of its traced ops that are dead
  (a step's time grows about linearly with its op count: benchmarks/README.md);
- a rebuild's cost is the measured trace time per op of the latest rebuild (the first
  call's time minus a steady call's, for the train and the test function) times the ops
  the new step will hold.
Plain Python: no TensorFlow, so it is tested on chosen numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RULES = ("cost", "epoch")


def dead_share(traced: int, live: int) -> float:
    """The share of the step's traced ops that are dead (0 when it traces none)."""
    if traced <= 0:
        return 0.0
    return max(traced - live, 0) / traced


@dataclass
class _FunctionClock:
    """First-call and steady-call seconds of one step function since its last rebuild."""

    first: float | None = None
    first_ops: int = 0
    steady: list = field(default_factory=list)

    def rebuilt(self):
        self.first, self.first_ops, self.steady = None, 0, []

    def observe(self, seconds: float, ops: int):
        if self.first is None:
            self.first, self.first_ops = seconds, ops
        else:
            self.steady.append(seconds)

    def trace_seconds_per_op(self) -> float | None:
        """(first call - mean steady call) / traced ops; None until both were seen."""
        if self.first is None or not self.steady or self.first_ops <= 0:
            return None
        steady = sum(self.steady) / len(self.steady)
        return max(self.first - steady, 0.0) / self.first_ops


class BreakEven:
    """The break-even rebuild rule's state: measured costs and the waste since a rebuild.

    Feed it every train and test call (`train_call`, `test_call`), tell it of every
    rebuild (`rebuilt`), and ask `due(traced, live)` after a train call.

    Example:
    >>> rule = BreakEven()
    >>> rule.train_call(10.0, traced=100, live=100)   # the first call: trace + step
    >>> rule.train_call(1.0, traced=100, live=50)     # steady: half of it wasted
    >>> rule.waste, rule.rebuild_cost(live=50)
    (0.5, 4.5)
    """

    def __init__(self):
        self.train = _FunctionClock()
        self.test = _FunctionClock()
        self.per_op = {"train": None, "test": None}  # the latest measured trace cost per op
        self.waste = 0.0

    def rebuilt(self, test: bool = True):
        """The train function was rebuilt (its next call traces, dropping the dead ops: the
        waste starts again at 0), and the test function too unless `test` is False (a flip
        of the architecture switch keeps it)."""
        self._keep_measurements()
        self.train.rebuilt()
        if test:
            self.test.rebuilt()
        self.waste = 0.0

    def _keep_measurements(self):
        for name, clock in (("train", self.train), ("test", self.test)):
            per_op = clock.trace_seconds_per_op()
            if per_op is not None:
                self.per_op[name] = per_op

    def train_call(self, seconds: float, traced: int, live: int):
        """One train call of `seconds` on a step tracing `traced` ops, `live` of them alive."""
        steady = self.train.first is not None
        self.train.observe(seconds, traced)
        if steady:
            self.waste += seconds * dead_share(traced, live)

    def test_call(self, seconds: float, traced: int, live: int):
        """One test call (a validation batch): its waste counts as a train call's does."""
        steady = self.test.first is not None
        self.test.observe(seconds, traced)
        if steady:
            self.waste += seconds * dead_share(traced, live)

    def rebuild_cost(self, live: int) -> float | None:
        """Estimated seconds to trace a step of `live` ops; None before any measurement."""
        self._keep_measurements()
        train = self.per_op["train"]
        if train is None:
            return None
        return (train + (self.per_op["test"] or 0.0)) * live

    def due(self, traced: int, live: int) -> bool:
        """Whether the waste since the last rebuild has reached a rebuild's cost."""
        if live >= traced:
            return False
        cost = self.rebuild_cost(live)
        return cost is not None and self.waste >= cost
