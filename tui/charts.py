"""What each chart draws, computed from the run views (pure; the Chart widget renders it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tui import state

# Stable run colours: a run keeps its colour for as long as the monitor runs.
RUN_COLORS = ((86, 156, 255), (255, 150, 60), (90, 200, 120), (230, 90, 160),
              (190, 170, 60), (150, 120, 240), (70, 200, 200), (220, 80, 70))
# Within one run, series are told apart by marker.
MARKERS = ("braille", "hd", "•")
CHART_NAMES = ("sparsity", "entropy", "temperature", "loss", "accuracy", "epoch_time")
SEARCH_ONLY = ("sparsity", "entropy", "temperature")  # a retraining run has none of these
NO_EPOCH_YET = "no epoch finished yet"
NO_FINITE_VALUE = "no finite value to draw (NaN and inf are logged as null)"
TRAINING_RUN = "a training run: no search to chart"
# plotext fails on a range wider than the float range; values beyond this are drawn as gaps.
MAX_MAGNITUDE = 1e300


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    label: str
    xs: list
    ys: list
    color: tuple
    marker: str = "braille"
    yside: str = "left"


@dataclass(frozen=True)
class ChartSpec:
    """A chart's title and lines."""

    name: str
    title: str
    series: list = field(default_factory=list)
    empty: str = NO_EPOCH_YET  # what an empty chart says
    # The epochs every chart spans, so a line that stops (a diverged loss) shows where.
    x_range: tuple | None = None


def run_color(index: int) -> tuple:
    return RUN_COLORS[index % len(RUN_COLORS)]


def downsample(xs: list, ys: list, max_points: int) -> tuple[list, list]:
    """At most `max_points` evenly spaced points, always keeping the first and the last."""
    n = len(xs)
    if max_points < 2 or n <= max_points:
        return list(xs), list(ys)
    picks = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
    return [xs[i] for i in picks], [ys[i] for i in picks]


def is_drawable(value) -> bool:
    """Whether plotext can take `value`: a finite number within ±`MAX_MAGNITUDE`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE
    except OverflowError:  # an int beyond the float range
        return False


def drawable(xs: list, ys: list) -> tuple[list, list]:
    """The points whose x and y are both drawable; the others become gaps."""
    pairs = [(x, y) for x, y in zip(xs, ys) if is_drawable(x) and is_drawable(y)]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _series(run_label, index, parts, yside="left"):
    out = []
    for k, (name, points) in enumerate(parts):
        xs, ys = drawable(*points)
        if xs:
            label = f"{run_label}{name}" if name else run_label.rstrip(" ")
            out.append(Series(label, xs, ys, run_color(index), MARKERS[k % len(MARKERS)],
                              yside))
    return out


def _points(view, attr):
    pts = [p for p in view.points() if getattr(p, attr) is not None]
    return [p.epoch for p in pts], [getattr(p, attr) for p in pts]


def _entropy(view, cell_type):
    pts = [p for p in view.points() if cell_type in p.entropy]
    return [p.epoch for p in pts], [p.entropy[cell_type] for p in pts]


def build_specs(views: list, selected: int) -> list[ChartSpec]:
    """The six charts; with several runs, every run is overlaid in its own colour."""
    overlay = len(views) > 1
    specs = {name: [] for name in CHART_NAMES}
    for index, view in enumerate(views):
        prefix = f"{view.name} " if overlay else ""
        specs["sparsity"] += _series(prefix, index, [("", _points(view, "sparsity"))])
        specs["entropy"] += _series(prefix, index, [
            (t, _entropy(view, t)) for t in state.CELL_TYPES])
        specs["temperature"] += _series(prefix, index, [("T", _points(view, "temperature"))])
        specs["temperature"] += _series(prefix, index, [("theta", _points(view, "threshold"))],
                                        yside="right")
        specs["loss"] += _series(prefix, index, [
            (name, state.metric_series(view, key)) for name, key in
            (("train", "loss"), ("val", "val_loss"), ("arch", "arch_loss"))])
        specs["accuracy"] += _series(prefix, index, [
            (name, state.metric_series(view, key)) for name, key in
            (("train", "accuracy"), ("val", "val_accuracy"), ("arch", "arch_accuracy"))])
        specs["epoch_time"] += _series(prefix, index, [("", _points(view, "seconds"))])
    eta = state.eta_seconds(views[selected]) if views else None
    titles = {
        "sparsity": "sparsity (pruned fraction)",
        "entropy": "mean normalized entropy",
        "temperature": "temperature T (left), threshold theta (right)",
        "loss": "loss",
        "accuracy": "accuracy",
        "epoch_time": "epoch seconds" + (f" · left ≤ {format_seconds(eta)}"
                                         if eta is not None else ""),
    }
    training_only = bool(views) and all(v.run_kind == "train" for v in views)
    epochs = [e for v in views for e in v.epochs if is_drawable(e)]
    x_range = (min(epochs), max(epochs)) if epochs else None
    return [ChartSpec(name, titles[name], specs[name],
                      TRAINING_RUN if training_only and name in SEARCH_ONLY
                      else NO_FINITE_VALUE if epochs else NO_EPOCH_YET, x_range)
            for name in CHART_NAMES]


def format_seconds(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `42s`; `-` for None or a non-finite number."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
