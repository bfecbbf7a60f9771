"""Folds a run's events into a view model: plain data that the widgets only render."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from tui.pareto import ParetoPoint

CELL_TYPES = ("normal", "reduce")
END_STATUS = {"finished": "finished", "stopped": "stopped", "interrupted": "interrupted",
              "failed": "failed"}
# Before the first epoch ends there is no typical epoch; the first trace alone can take minutes.
STALE_BEFORE_FIRST_EPOCH = 900.0
STALE_EPOCHS = 3.0
STALE_MIN_SECONDS = 60.0
# A loss (or T) logged as null was NaN or inf: the search diverged in that epoch.
DIVERGENCE_METRICS = ("loss", "val_loss", "arch_loss")
# How a run stopped by a non-finite loss ends its log (`run_end` failed, with this reason).
DIVERGED_REASON = re.compile(r"diverged\b.*?\bat epoch (\d+)", re.IGNORECASE)
MAX_EPOCH_CAP = 2**53
# Where the op weights form a distribution per edge (Phi); GOLD's gates ("sigmoid") and
# NAP's alphas ("identity") do not: they are shown as w and may be negative or above 1.
DISTRIBUTION = "softmax"


@dataclass(frozen=True)
class EpochPoint:
    """One epoch's numbers, as the charts draw them (a retraining run has no search fields).

    A number logged as null (NaN or inf when written) is None: a gap in the charts. Fields
    a log of before GOLD and NAP lacks: `relaxation` ("softmax" there), `weight_entropy`
    (of |w| / sum |w|), `supernet_madds` and `resource_weight` (GOLD's lambda).
    """

    epoch: int
    temperature: float | None
    threshold: float | None
    sparsity: float | None
    entropy: dict
    metrics: dict
    seconds: float | None
    live_ops: int | None
    total_ops: int | None
    relaxation: str = DISTRIBUTION
    weight_entropy: dict = field(default_factory=dict)
    supernet_madds: float | None = None
    resource_weight: float | None = None
    learning_rate: float | None = None  # retraining runs (`train_epoch`)
    drop_path: float | None = None

    @property
    def weights_are_distribution(self) -> bool:
        """Whether the epoch's op weights are Phi (so `entropy` tells), not w (GOLD, NAP:
        `entropy` is empty and `weight_entropy` tells)."""
        return self.relaxation == DISTRIBUTION


@dataclass(frozen=True)
class CellSnapshot:
    """One epoch's op weights per cell type (Phi, or w where `relaxation` is not softmax)
    and alive masks, kept per epoch so the monitor can show a past epoch's cell."""

    ops: tuple
    phi: dict
    alive: dict
    relaxation: str = DISTRIBUTION


@dataclass(frozen=True)
class PruneRow:
    """One pruned op: when (epoch, and the global step; None in logs that lack it), where,
    and how weak it was (None where the log has null)."""

    epoch: int
    cell: str
    edge: int
    op: str
    weight: float | None
    threshold: float | None
    step: int | None = None


@dataclass(frozen=True)
class SkippedEvent:
    """A decoded event the fold could not use: its kind and why (reported like a bad line)."""

    kind: str
    message: str


@dataclass
class RunView:
    """Everything the monitor knows about one run, folded from its events.

    Args:
        path: the run directory.
    """

    path: Path
    name: str = ""
    run_kind: str = "search"
    method: str = ""
    started: float | None = None
    last_event: float | None = None
    epoch_cap: int | None = None
    steps_per_epoch: int | None = None
    end_status: str | None = None
    end_reason: str = ""
    epochs: dict = field(default_factory=dict)
    prunes: list = field(default_factory=list)
    ops: tuple = ()
    # The latest epoch's op weights: Phi (in [0, 1], sum 1 per edge) where `relaxation` is
    # softmax, else w (GOLD's gates, NAP's alphas: any sign, no sum).
    phi: dict = field(default_factory=dict)
    alive: dict = field(default_factory=dict)
    relaxation: str = DISTRIBUTION
    pareto: dict = field(default_factory=dict)  # epoch -> ParetoPoint
    genotype: dict | None = None
    final_prune: dict | None = None
    step: tuple | None = None
    step_events: int = 0
    # Progress inside an epoch: when it began (the previous epoch's event, or run_start)
    # and `(step, time)` of its step events.
    epoch_started: float | None = None
    step_times: list = field(default_factory=list)
    history: dict = field(default_factory=dict)  # epoch -> CellSnapshot
    genotypes: dict = field(default_factory=dict)  # epoch -> genotype dict
    errors: list = field(default_factory=list)
    sessions: int = 0
    # Step graphs built (`trace` events, train and test functions) and their seconds, over
    # every session: the part of the run's time spent tracing rather than computing.
    traces: int = 0
    trace_seconds: float = 0.0
    log_found: bool = False
    diverged_at: int | None = None

    def __post_init__(self):
        self.path = Path(self.path)
        self.name = self.name or self.path.name

    def points(self) -> list[EpochPoint]:
        """The epochs in order."""
        return [self.epochs[e] for e in sorted(self.epochs)]

    @property
    def last_epoch(self) -> int | None:
        return max(self.epochs) if self.epochs else None

    def pareto_points(self) -> list[ParetoPoint]:
        """The Pareto records (GOLD-NAS) in epoch order."""
        return [self.pareto[e] for e in sorted(self.pareto)]

    @property
    def diverged(self) -> bool:
        """Whether a loss or T went non-finite (`diverged_at` is the first such epoch)."""
        return self.diverged_at is not None


def apply(view: RunView, event) -> SkippedEvent | None:
    """Folds one decoded event into `view` (in place); never raises.

    An event whose values the fold cannot use leaves the view as it was and is returned as
    a `SkippedEvent` (also appended to `view.errors`).

    Args:
        view: the run's view.
        event: an `events.Event` from `events.decode`.

    Returns:
        None, or the `SkippedEvent`.
    """
    try:
        _FOLDS.get(event.kind, _ignore)(view, event.data)
    except Exception as err:  # the monitor must outlive any event; the view stays as it was
        skipped = SkippedEvent(str(event.kind), f"{type(err).__name__}: {str(err)[:120]}")
        view.errors.append(skipped)
        return skipped
    view.last_event = event.time
    if event.kind == "run_start" and view.started is None:
        view.started = event.time
    if event.kind in ("run_start", "epoch", "train_epoch"):
        view.epoch_started, view.step_times = event.time, []
    elif event.kind == "step":
        view.step_times = [s for s in view.step_times if s[0] == view.step[0]]
        view.step_times.append((*view.step, event.time))
    return None


def _ignore(view: RunView, data: dict) -> None:
    """Kinds the monitor does not show (checkpoint) change nothing but the last event time."""


def _start(view: RunView, data: dict) -> None:
    start = int(data["start_epoch"])
    config = _section(data, "config")
    search, train = _section(config, "search"), _section(config, "train")
    run_kind = str(data.get("run_kind") or "search")
    cap = (search or train).get("epochs", view.epoch_cap)
    steps = data.get("steps_per_epoch", view.steps_per_epoch)
    # Every value is read before the view changes, so a bad one leaves it as it was.
    view.sessions += 1
    view.name = str(data.get("run") or view.name)
    view.run_kind = run_kind
    if run_kind == "search":
        view.method = str(search.get("method") or "asap")
    view.epoch_cap = cap if _is_int(cap) and 0 < cap <= MAX_EPOCH_CAP else view.epoch_cap
    view.steps_per_epoch = steps if _is_int(steps) else view.steps_per_epoch
    view.end_status, view.end_reason, view.step = None, "", None
    view.final_prune = None
    # A resumed run redoes every epoch from its checkpoint on; what was logged after it is void.
    view.epochs = {e: p for e, p in view.epochs.items() if e < start}
    view.prunes = [row for row in view.prunes if row.epoch < start]
    view.pareto = {e: p for e, p in view.pareto.items() if e < start}
    view.history = {e: c for e, c in view.history.items() if e < start}
    view.genotypes = {e: g for e, g in view.genotypes.items() if e < start}
    if view.diverged_at is not None and view.diverged_at >= start:
        view.diverged_at = None


def _trace(view: RunView, data: dict) -> None:
    seconds = _number(data["seconds"])
    view.traces += 1
    view.trace_seconds += max(seconds or 0.0, 0.0)


def _step(view: RunView, data: dict) -> None:
    epoch = int(data["epoch"])
    view.step = (epoch, int(data["step"]))
    view.step_events += 1
    _check_divergence(view, epoch, data["metrics"])


def _epoch(view: RunView, data: dict) -> None:
    epoch = int(data["epoch"])
    relaxation = str(data.get("relaxation") or DISTRIBUTION)
    point = EpochPoint(
        epoch, _number(data["temperature"]), _number(data["threshold"]),
        _number(data["sparsity"]), _numbers(data["entropy"]), _numbers(data["metrics"]),
        _number(data["epoch_seconds"]), int(data["live_ops"]), int(data["total_ops"]),
        relaxation, _numbers(data.get("weight_entropy") or {}),
        _number(data.get("supernet_madds")), _number(data.get("lambda")))
    ops = tuple(str(op) for op in data["ops"])
    phi = {str(t): [[_number(w) for w in row] for row in rows]
           for t, rows in data["phi"].items()}
    alive = {str(t): [[bool(a) for a in row] for row in rows]
             for t, rows in data["alive"].items()}
    view.epochs[epoch] = point
    view.ops, view.phi, view.alive = ops, phi, alive
    view.relaxation = relaxation
    view.history[epoch] = CellSnapshot(ops, phi, alive, relaxation)
    _check_divergence(view, epoch, data["metrics"], temperature=data["temperature"])


def _train_epoch(view: RunView, data: dict) -> None:
    epoch = int(data["epoch"])
    view.epochs[epoch] = EpochPoint(
        epoch, None, None, None, {}, _numbers(data["metrics"]), _number(data["epoch_seconds"]),
        None, None, learning_rate=_number(data.get("learning_rate")),
        drop_path=_number(data.get("drop_path")))
    _check_divergence(view, epoch, data["metrics"])


def _prune(view: RunView, data: dict) -> None:
    step = data.get("step")
    view.prunes.append(PruneRow(int(data["epoch"]), str(data["cell"]), int(data["edge"]),
                                str(data["op"]), _number(data["weight"]),
                                _number(data["threshold"]),
                                None if step is None else int(step)))


def _pareto(view: RunView, data: dict) -> None:
    epoch = int(data["epoch"])
    front_size, stable = data.get("front_size"), data.get("stable")
    view.pareto[epoch] = ParetoPoint(
        epoch, int(data["multiply_adds"]), int(data["params"]), _number(data["val_accuracy"]),
        bool(data["entered"]), dict(data["genotype"]),
        None if front_size is None else int(front_size), None if stable is None else bool(stable))


def _genotype(view: RunView, data: dict) -> None:
    genotype, epoch = dict(data["genotype"]), data.get("epoch")
    view.genotype = genotype
    if _is_int(epoch):
        view.genotypes[epoch] = genotype


def _final_prune(view: RunView, data: dict) -> None:
    view.final_prune = {"before": _number(data.get("val_accuracy_before")),
                        "after": _number(data["val_accuracy"])}


def _end(view: RunView, data: dict) -> None:
    status = END_STATUS.get(data["status"], "failed")
    reason = str(data.get("reason") or "")
    view.end_status, view.end_reason = status, reason
    diverged = DIVERGED_REASON.search(reason) if status == "failed" else None
    if diverged:
        _mark_diverged(view, int(diverged.group(1)))


_FOLDS = {"run_start": _start, "trace": _trace, "step": _step, "epoch": _epoch,
          "train_epoch": _train_epoch, "prune": _prune, "pareto": _pareto, "genotype": _genotype,
          "final_prune": _final_prune, "run_end": _end}


def _check_divergence(view: RunView, epoch: int, metrics: dict, temperature=0.0) -> None:
    values = [metrics[k] for k in DIVERGENCE_METRICS if k in metrics] + [temperature]
    if any(_number(v) is None for v in values):
        _mark_diverged(view, epoch)


def _mark_diverged(view: RunView, epoch: int) -> None:
    if view.diverged_at is None or epoch < view.diverged_at:
        view.diverged_at = epoch


def _section(data: dict, key: str) -> dict:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> float | None:
    """A finite float, or None for null (or anything else that is not a finite number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _numbers(values: dict) -> dict:
    """`name -> finite float`, leaving out the nulls."""
    out = {str(k): _number(v) for k, v in values.items()}
    return {k: v for k, v in out.items() if v is not None}


def reset(view: RunView) -> RunView:
    """A fresh view of the same run, for a log that started over."""
    return RunView(view.path)


def typical_epoch_seconds(view: RunView) -> float | None:
    """The median epoch time of the run so far (None before the first timed epoch)."""
    seconds = [p.seconds for p in view.epochs.values() if p.seconds is not None]
    return statistics.median(seconds) if seconds else None


def status(view: RunView, now: float) -> str:
    """`waiting`, `running`, `finished`, `stopped`, `failed` or `stale`.

    Stale: no event for much longer than a typical epoch (three of them, at least a minute).
    """
    if view.end_status:
        return view.end_status
    if view.last_event is None:
        return "waiting"
    typical = typical_epoch_seconds(view)
    limit = (STALE_BEFORE_FIRST_EPOCH if typical is None
             else max(STALE_MIN_SECONDS, STALE_EPOCHS * typical))
    return "stale" if now - view.last_event > limit else "running"


def elapsed(view: RunView, now: float) -> float:
    """Seconds since the run started, up to its last event once it has ended or stalled."""
    if view.started is None:
        return 0.0
    end = now if status(view, now) == "running" else (view.last_event or now)
    return max(0.0, end - view.started)


def metric_series(view: RunView, name: str) -> tuple[list[int], list[float]]:
    """`(epochs, values)` of one metric over the epochs that report it."""
    xs, ys = [], []
    for point in view.points():
        if name in point.metrics:
            xs.append(point.epoch)
            ys.append(point.metrics[name])
    return xs, ys


def edge_endpoints(edges: int) -> list[tuple[int, int]]:
    """`(source, target)` per edge of a cell with `edges` edges (inputs 0, 1); DARTS and
    free cells have the same edges (every earlier node feeds each node)."""
    out, node = [], 0
    while len(out) < edges:
        out.extend((src, node + 2) for src in range(2 + node))
        node += 1
    return out[:edges]
