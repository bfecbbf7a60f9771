"""Folds a run's events into a view model: plain data that the widgets only render."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

CELL_TYPES = ("normal", "reduce")
END_STATUS = {"finished": "finished", "stopped": "stopped", "interrupted": "stopped",
              "failed": "failed"}
# Before the first epoch ends there is no typical epoch; the first trace alone can take minutes.
STALE_BEFORE_FIRST_EPOCH = 900.0
STALE_EPOCHS = 3.0
STALE_MIN_SECONDS = 60.0


@dataclass(frozen=True)
class EpochPoint:
    """One epoch's numbers, as the charts draw them (a retraining run has no search fields)."""

    epoch: int
    temperature: float | None
    threshold: float | None
    sparsity: float | None
    entropy: dict
    metrics: dict
    seconds: float
    live_ops: int | None
    total_ops: int | None


@dataclass(frozen=True)
class PruneRow:
    """One pruned op: when (epoch, and the global step; None in logs that lack it), where,
    and how weak it was."""

    epoch: int
    cell: str
    edge: int
    op: str
    weight: float
    threshold: float
    step: int | None = None


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
    phi: dict = field(default_factory=dict)
    alive: dict = field(default_factory=dict)
    genotype: dict | None = None
    final_prune: dict | None = None
    step: tuple | None = None
    step_events: int = 0
    errors: list = field(default_factory=list)
    sessions: int = 0
    log_found: bool = False

    def __post_init__(self):
        self.path = Path(self.path)
        self.name = self.name or self.path.name

    def points(self) -> list[EpochPoint]:
        """The epochs in order."""
        return [self.epochs[e] for e in sorted(self.epochs)]

    @property
    def last_epoch(self) -> int | None:
        return max(self.epochs) if self.epochs else None


def apply(view: RunView, event) -> None:
    """Folds one decoded event into `view` (in place)."""
    data = event.data
    view.last_event = event.time
    kind = event.kind
    if kind == "run_start":
        _start(view, event)
    elif kind == "step":
        view.step = (int(data["epoch"]), int(data["step"]))
        view.step_events += 1
    elif kind == "epoch":
        _epoch(view, data)
    elif kind == "train_epoch":
        epoch = int(data["epoch"])
        view.epochs[epoch] = EpochPoint(
            epoch, None, None, None, {},
            {k: float(v) for k, v in (data["metrics"] or {}).items() if v is not None},
            float(data["epoch_seconds"]), None, None)
    elif kind == "prune":
        step = data.get("step")
        view.prunes.append(PruneRow(int(data["epoch"]), str(data["cell"]), int(data["edge"]),
                                    str(data["op"]), float(data["weight"]),
                                    float(data["threshold"]),
                                    None if step is None else int(step)))
    elif kind == "genotype":
        view.genotype = data["genotype"]
    elif kind == "final_prune":
        view.final_prune = {"before": data.get("val_accuracy_before"),
                            "after": data["val_accuracy"]}
    elif kind == "run_end":
        view.end_status = END_STATUS.get(data["status"], "failed")
        view.end_reason = str(data.get("reason") or "")


def _start(view: RunView, event) -> None:
    data = event.data
    start = int(data["start_epoch"])
    if view.started is None:
        view.started = event.time
    view.sessions += 1
    view.name = str(data.get("run") or view.name)
    view.run_kind = str(data.get("run_kind") or "search")
    config = data.get("config") or {}
    if view.run_kind == "search":
        view.method = str((config.get("search") or {}).get("method") or "asap")
    section = config.get("search") or config.get("train") or {}
    view.epoch_cap = section.get("epochs", view.epoch_cap)
    view.steps_per_epoch = data.get("steps_per_epoch", view.steps_per_epoch)
    view.end_status, view.end_reason, view.step = None, "", None
    view.final_prune = None
    # A resumed run redoes every epoch from its checkpoint on; what was logged after it is void.
    view.epochs = {e: p for e, p in view.epochs.items() if e < start}
    view.prunes = [row for row in view.prunes if row.epoch < start]


def _epoch(view: RunView, data: dict) -> None:
    epoch = int(data["epoch"])
    view.epochs[epoch] = EpochPoint(
        epoch, float(data["temperature"]), float(data["threshold"]), float(data["sparsity"]),
        {k: float(v) for k, v in (data["entropy"] or {}).items() if v is not None},
        {k: float(v) for k, v in (data["metrics"] or {}).items() if v is not None},
        float(data["epoch_seconds"]), int(data["live_ops"]), int(data["total_ops"]))
    view.ops = tuple(data["ops"])
    view.phi = {t: [list(map(float, row)) for row in rows] for t, rows in data["phi"].items()}
    view.alive = {t: [[bool(a) for a in row] for row in rows]
                  for t, rows in data["alive"].items()}


def reset(view: RunView) -> RunView:
    """A fresh view of the same run, for a log that started over."""
    return RunView(view.path)


def typical_epoch_seconds(view: RunView) -> float | None:
    """The median epoch time of the run so far (None before the first epoch)."""
    seconds = [p.seconds for p in view.epochs.values()]
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


def eta_seconds(view: RunView) -> float | None:
    """Time left up to the epoch cap at the recent epoch pace (ASAP may stop sooner)."""
    if view.end_status or not view.epochs or not view.epoch_cap:
        return None
    recent = [p.seconds for p in view.points()[-3:]]
    left = view.epoch_cap - (view.last_epoch + 1)
    return max(0, left) * sum(recent) / len(recent)


def metric_series(view: RunView, name: str) -> tuple[list[int], list[float]]:
    """`(epochs, values)` of one metric over the epochs that report it."""
    xs, ys = [], []
    for point in view.points():
        if name in point.metrics:
            xs.append(point.epoch)
            ys.append(point.metrics[name])
    return xs, ys


def edge_endpoints(edges: int) -> list[tuple[int, int]]:
    """`(source, target)` per edge of a DARTS cell with `edges` edges (inputs 0, 1)."""
    out, node = [], 0
    while len(out) < edges:
        out.extend((src, node + 2) for src in range(2 + node))
        node += 1
    return out[:edges]


def chosen_edges(view: RunView, cell_type: str) -> set[tuple[int, int, str]]:
    """`(source, target, op)` of the current genotype's edges of one cell type."""
    if not view.genotype:
        return set()
    pairs = view.genotype.get(cell_type) or []
    return {(int(src), 2 + i // 2, str(op)) for i, (op, src) in enumerate(pairs)}
