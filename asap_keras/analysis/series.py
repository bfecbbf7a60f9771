"""The per-epoch series of a search folded from its events, and what they measure (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asap_keras.search.pareto import Record

# Written once at the end of a search (the supernet validated after the final hard prune).
FINAL_PRUNE = "final_prune"


@dataclass(frozen=True)
class EpochRow:
    """One epoch of a search, as its `epoch` event and that epoch's `trace` events tell it.

    Args:
        epoch: the epoch index.
        time: the event's wall time (the end of the epoch).
        grace: no architecture step ran (Algorithm 1's grace).
        seconds: `epoch_seconds` (training, traces and validation).
        trace_seconds: the summed `seconds` of the epoch's `trace` events.
        step_seconds: the mean seconds of the epoch's steps that ran an already traced step
            function (None in logs that lack it).
        sparsity: `1 - live_ops / total_ops`.
        entropy: per cell type, the mean normalized entropy of its edges' Phi (empty where
            op weights are not a distribution: GOLD-NAS' gates, NAP's alphas).
        weight_entropy: per cell type, the mean normalized entropy of each edge's |weights|
            divided by their sum (logs before it was added lack it).
        relaxation: how the run's alphas became op weights ("softmax" where not logged).
        supernet_madds: the supernet's alive ops' multiply-adds (None where not logged).
        val_accuracy, val_loss: the supernet's validation metrics (None when not logged).
        live_ops, total_ops: alive and candidate ops over the whole stack.
        discrete: every edge kept a single op.
    """

    epoch: int
    time: float
    grace: bool
    seconds: float
    trace_seconds: float = 0.0
    sparsity: float | None = None
    entropy: dict = field(default_factory=dict)
    val_accuracy: float | None = None
    val_loss: float | None = None
    live_ops: int | None = None
    total_ops: int | None = None
    discrete: bool = False
    step_seconds: float | None = None
    weight_entropy: dict = field(default_factory=dict)
    relaxation: str = "softmax"
    supernet_madds: int | None = None

    @property
    def net_seconds(self) -> float:
        """The epoch's search work: its mean untraced step time when logged (validation and
        rebuilds excluded), else its time without its traces."""
        if self.step_seconds is not None:
            return self.step_seconds
        return self.seconds - self.trace_seconds

    @property
    def mean_entropy(self) -> float | None:
        """The mean over the cell types present (Fig. 7)."""
        values = list(self.entropy.values())
        return sum(values) / len(values) if values else None

    @property
    def mean_weight_entropy(self) -> float | None:
        """The mean of `weight_entropy` over the cell types present."""
        values = list(self.weight_entropy.values())
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class FinalPrune:
    """The supernet after the final hard prune to the derived cell (Fig. 6's last point)."""

    epoch: int
    val_accuracy: float | None
    val_loss: float | None
    val_accuracy_before: float | None
    live_ops: int | None
    total_ops: int | None
    genotype: dict | None


@dataclass(frozen=True)
class Session:
    """One `run_start` and what followed it up to the next one (a resume) or the log's end."""

    start: float
    start_epoch: int
    last_event: float
    seconds: float | None = None  # run_end's
    status: str | None = None
    reason: str = ""

    @property
    def duration(self) -> float:
        """run_end's seconds, or up to the last event of a session that wrote none."""
        return self.seconds if self.seconds is not None else self.last_event - self.start


@dataclass
class RunSeries:
    """Everything `compare` needs from one run: identity, sessions, epochs, final prune, cell.

    Args:
        name: the run's name (its directory's).
        path: the run directory (None for events folded without one).
    """

    name: str
    path: Path | None = None
    method: str = ""
    run_kind: str = "search"
    image_shape: tuple | None = None
    num_classes: int | None = None
    sessions: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    final_prune: FinalPrune | None = None
    last_genotype: tuple | None = None  # (epoch, genotype) of the last `genotype` event
    genotype: dict | None = None
    genotype_source: str = ""
    skipped_lines: list = field(default_factory=list)  # (line number, why)
    notes: list = field(default_factory=list)
    space: dict = field(default_factory=dict)  # the config's [space] table (search size)
    pareto: list = field(default_factory=list)  # GOLD-NAS' `pareto` events, as `Record`s
    pareto_file: list | None = None  # pareto.json's `Record`s (None: no readable file)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.method or 'unknown method'})"


def method_label(config: dict) -> str:
    """`config.search.method`, with what tells its variants apart when the config says it:
    DARTS' order ("darts-2nd"), the Zhu-Gupta power of the pruning baselines
    ("magnitude-p1"), ASAP under Theorem 2's schedule ("asap-pac")."""
    search = (config or {}).get("search") or {}
    method = str(search.get("method") or "")
    section = search.get(method)  # e.g. [search.darts]
    section = section if isinstance(section, dict) else {}
    order, power = section.get("order"), section.get("power")
    if method == "darts" and order in (1, 2):
        return f"{method}-{'1st' if order == 1 else '2nd'}"
    if method in ("magnitude", "accum_grad") and isinstance(power, int):
        return f"{method}-p{power}"
    anneal = search.get("anneal")
    if method == "asap" and isinstance(anneal, dict) and anneal.get("schedule") == "pac":
        return "asap-pac"
    return method


def _number(value):
    return None if value is None else float(value)


def _integer(value):
    return None if value is None else int(value)


def fold(events: Iterable, name: str) -> RunSeries:
    """Folds decoded events into a `RunSeries`; pure (no file is read).

    A later `run_start` (a resume) starts a new session; what the earlier sessions logged
    for epochs from its `start_epoch` on is void (the resumed run redoes them), as the
    monitor folds it.

    Args:
        events: `events.Event`s in log order.
        name: the run's name.

    Returns:
        The `RunSeries` (no genotype file or notes: see `load_run`).
    """
    run = RunSeries(name=name)
    rows, traces, sessions, records = {}, {}, [], {}
    for event in events:
        data = event.data
        if event.kind == "run_start":
            start = int(data["start_epoch"])
            sessions.append({"start": event.time, "start_epoch": start,
                             "last_event": event.time})
            rows = {e: r for e, r in rows.items() if e < start}
            traces = {e: s for e, s in traces.items() if e < start}
            records = {e: r for e, r in records.items() if e < start}
            if run.final_prune is not None and run.final_prune.epoch >= start:
                run.final_prune = None
            if run.last_genotype is not None and run.last_genotype[0] >= start:
                run.last_genotype = None
            run.method = method_label(data.get("config") or {}) or run.method
            space = (data.get("config") or {}).get("space")
            run.space = dict(space) if isinstance(space, dict) else run.space
            run.run_kind = str(data.get("run_kind") or "search")
            shape = data.get("image_shape")
            run.image_shape = tuple(int(d) for d in shape) if shape else run.image_shape
            classes = data.get("class_names")
            run.num_classes = len(classes) if classes else run.num_classes
        elif event.kind == "epoch":
            rows[int(data["epoch"])] = event
        elif event.kind == "trace":
            epoch = int(data["epoch"])
            traces[epoch] = traces.get(epoch, 0.0) + float(data["seconds"] or 0.0)
        elif event.kind == "pareto":
            records[int(data["epoch"])] = pareto_record(data)
        elif event.kind == "genotype":
            run.last_genotype = (int(data["epoch"]), data["genotype"])
        elif event.kind == FINAL_PRUNE:
            run.final_prune = FinalPrune(
                int(data["epoch"]), _number(data["val_accuracy"]), _number(data["val_loss"]),
                _number(data.get("val_accuracy_before")), _integer(data["live_ops"]),
                _integer(data["total_ops"]), data.get("genotype"))
        elif event.kind == "run_end" and sessions:
            sessions[-1].update(seconds=_number(data.get("seconds")), status=data["status"],
                                reason=str(data.get("reason") or ""))
        if sessions:
            sessions[-1]["last_event"] = event.time
    run.sessions = [Session(**s) for s in sessions]
    run.epochs = [_row(rows[e], traces.get(e, 0.0)) for e in sorted(rows)]
    run.pareto = [records[e] for e in sorted(records)]
    return run


def pareto_record(data: dict) -> Record:
    """A `pareto` event's (or a `pareto.json` entry's) fields as a `search.pareto.Record`."""
    return Record(int(data["epoch"]), data["genotype"], int(data["multiply_adds"]),
                  int(data["params"]), _number(data["val_accuracy"]))


def _row(event, trace_seconds: float) -> EpochRow:
    data = event.data
    metrics = data.get("metrics") or {}
    return EpochRow(
        epoch=int(data["epoch"]), time=event.time, grace=bool(data["grace"]),
        seconds=float(data["epoch_seconds"] or 0.0), trace_seconds=trace_seconds,
        sparsity=_number(data["sparsity"]),
        entropy={t: float(v) for t, v in (data["entropy"] or {}).items() if v is not None},
        val_accuracy=_number(metrics.get("val_accuracy")),
        val_loss=_number(metrics.get("val_loss")), live_ops=_integer(data["live_ops"]),
        total_ops=_integer(data["total_ops"]), discrete=bool(data.get("discrete", False)),
        step_seconds=_number(data.get("step_seconds")),
        weight_entropy={t: float(v) for t, v in (data.get("weight_entropy") or {}).items()
                        if v is not None},
        relaxation=str(data.get("relaxation") or "softmax"),
        supernet_madds=_integer(data.get("supernet_madds")))


def reference_row(run: RunSeries) -> EpochRow | None:
    """The first epoch that ran architecture steps: the unit of relative durations (Fig. 3)."""
    return next((row for row in run.epochs if not row.grace), None)


def relative_durations(run: RunSeries) -> list:
    """Per epoch, its work time (`EpochRow.net_seconds`) over the reference epoch's (or None).

    Runs whose reference epoch lacks `step_seconds` use epoch time minus traces throughout,
    so one run's points are never mixed from the two measures."""
    reference = reference_row(run)
    if reference is None or reference.net_seconds <= 0:
        return [None] * len(run.epochs)
    if reference.step_seconds is None:
        base = reference.seconds - reference.trace_seconds
        return [(row.seconds - row.trace_seconds) / base for row in run.epochs]
    return [None if row.step_seconds is None else row.step_seconds / reference.step_seconds
            for row in run.epochs]


def search_seconds(run: RunSeries) -> float | None:
    """The search's wall time: run_end's seconds summed over sessions (or to the last event)."""
    return sum(s.duration for s in run.sessions) if run.sessions else None


def time_to_discrete(run: RunSeries) -> float | None:
    """Seconds of search until the end of the first epoch where every edge kept one op.

    Counted from the first `run_start`, without the gaps between sessions of a resumed run.
    """
    row = next((r for r in run.epochs if r.discrete), None)
    if row is None or not run.sessions:
        return None
    total = 0.0
    for session in run.sessions:
        if session.start > row.time:
            break
        if session.last_event >= row.time or session is run.sessions[-1]:
            return total + row.time - session.start
        total += session.duration
    return total


def final_accuracy(run: RunSeries) -> tuple[float | None, str]:
    """The final validation accuracy and where it comes from: "final_prune" or "last epoch"."""
    if run.final_prune is not None and run.final_prune.val_accuracy is not None:
        return run.final_prune.val_accuracy, FINAL_PRUNE
    for row in reversed(run.epochs):
        if row.val_accuracy is not None:
            return row.val_accuracy, "last epoch"
    return None, ""


def end_ops(run: RunSeries) -> tuple[int | None, int | None]:
    """`(live, total)` ops at the end: after the final prune, else after the last epoch."""
    if run.final_prune is not None and run.final_prune.live_ops is not None:
        return run.final_prune.live_ops, run.final_prune.total_ops
    if run.epochs:
        return run.epochs[-1].live_ops, run.epochs[-1].total_ops
    return None, None
