"""What each chart draws, computed from the run views (pure; the Chart widget renders it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tui import pareto, state

# Stable run colours: a run keeps its colour for as long as the monitor runs.
RUN_COLORS = ((86, 156, 255), (255, 150, 60), (90, 200, 120), (230, 90, 160),
              (190, 170, 60), (150, 120, 240), (70, 200, 200), (220, 80, 70))
# Within one run, series are told apart by marker.
MARKERS = ("braille", "hd", "•")
CHART_NAMES = ("sparsity", "entropy", "temperature", "loss", "accuracy", "epoch_time",
               "learning_rate", "drop_path", "pareto")
SEARCH_ONLY = ("sparsity", "entropy", "temperature")  # a retraining run has none of these
TRAIN_ONLY = ("learning_rate", "drop_path")  # `train_epoch` fields: a search has none
OPTIONAL = ("pareto", *TRAIN_ONLY)  # hidden until a run logs what they draw
NO_EPOCH_YET = "no epoch finished yet"
NO_FINITE_VALUE = "no finite value to draw (NaN and inf are logged as null)"
TRAINING_RUN = "a training run: no search to chart"
NO_ACCURACY = "no record with a validation accuracy yet"
# Pareto records: the front joined by a line (both rise along it), the dominated as dots.
FRONT_MARKER, DOMINATED_MARKER = "●", "·"
# Multiply-adds are charted in the largest unit that keeps the values at 1 or more.
MADDS_UNITS = ((1e9, "G"), (1e6, "M"), (1e3, "k"))
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
    lines: bool = True  # False: a scatter of points


@dataclass(frozen=True)
class ChartSpec:
    """A chart's title and lines."""

    name: str
    title: str
    series: list = field(default_factory=list)
    empty: str = NO_EPOCH_YET  # what an empty chart says
    # The epochs every chart spans, so a line that stops (a diverged loss) shows where.
    x_range: tuple | None = None
    shown: bool = True  # the Pareto chart is shown only for runs that log Pareto records


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


def _series(run_label, index, parts, yside="left", markers=MARKERS, lines=True):
    out = []
    for k, (name, points) in enumerate(parts):
        xs, ys = drawable(*points)
        if xs:
            label = f"{run_label}{name}" if name else run_label.rstrip(" ")
            out.append(Series(label, xs, ys, run_color(index), markers[k % len(markers)],
                              yside, lines))
    return out


def _points(view, attr):
    pts = [p for p in view.points() if getattr(p, attr) is not None]
    return [p.epoch for p in pts], [getattr(p, attr) for p in pts]


def _entropy(view, cell_type, of_weights):
    """Phi's entropy per epoch, or (`of_weights`) that of |w| / sum |w| in the epochs whose
    weights are no distribution (GOLD, NAP: their `entropy` is empty)."""
    xs, ys = [], []
    for point in view.points():
        if point.weights_are_distribution == of_weights:
            continue
        value = (point.weight_entropy if of_weights else point.entropy).get(cell_type)
        if value is not None:
            xs.append(point.epoch)
            ys.append(value)
    return xs, ys


def madds_unit(values) -> tuple[float, str]:
    """`(divisor, suffix)` that shows multiply-adds `values` as numbers of at least 1."""
    top = max((abs(v) for v in values if is_drawable(v)), default=0.0)
    return next(((d, s) for d, s in MADDS_UNITS if top >= d), (1.0, ""))


def _madds(view, divisor):
    xs, ys = _points(view, "supernet_madds")
    return xs, [y / divisor for y in ys]


def _pareto(view, divisor):
    """The run's front and its dominated records as `(multiply-adds, accuracy)` points."""
    points = view.pareto_points()
    front = pareto.front(points)
    on_front = {p.epoch for p in front}
    rest = [p for p in points if p.epoch not in on_front and p.val_accuracy is not None]
    return [([p.multiply_adds / divisor for p in group], [p.val_accuracy for p in group])
            for group in (front, rest)]


def pareto_title(views: list, selected: int, unit: str) -> str:
    """The Pareto chart's title: the markers, and the selected run's front size out of its
    records (the legend, which would hide the cheap and accurate corner, is left out)."""
    view = views[selected] if views else None
    size = ""
    if view is not None and view.pareto:
        size = f" {len(pareto.front(view.pareto_points()))}/{len(view.pareto)}"
    return (f"Pareto {FRONT_MARKER} front{size}, {DOMINATED_MARKER} dominated: "
            f"val acc vs MAdds{f' ({unit})' if unit else ''}")


def build_specs(views: list, selected: int) -> list[ChartSpec]:
    """The charts; with several runs, every run is overlaid in its own colour.

    The Pareto chart is shown (`ChartSpec.shown`) only where a run logs Pareto records
    (GOLD-NAS); the learning rate and drop path only where a run is a retraining run, and
    the search's sparsity, entropy and T charts only where one is a search. Entropy is
    Phi's, or that of |w| / sum |w| for runs whose weights are no distribution (marked
    "w"); supernet multiply-adds go on the sparsity chart's right.
    """
    overlay = len(views) > 1
    specs = {name: [] for name in CHART_NAMES}
    of_weights = any(not p.weights_are_distribution for v in views for p in v.epochs.values())
    of_phi = any(p.weights_are_distribution and p.entropy for v in views
                 for p in v.epochs.values())
    divisor, unit = madds_unit([p.supernet_madds for v in views for p in v.epochs.values()])
    madds = any(is_drawable(p.supernet_madds) for v in views for p in v.epochs.values())
    pareto_divisor, pareto_unit = madds_unit(
        [r.multiply_adds for v in views for r in v.pareto.values()])
    # One run's records need no legend (it would hide the cheap and accurate corner).
    pareto_runs = sum(bool(v.pareto) for v in views)
    for index, view in enumerate(views):
        prefix = f"{view.name} " if overlay else ""
        specs["sparsity"] += _series(prefix, index,
                                     [("pruned" if madds else "", _points(view, "sparsity"))])
        specs["sparsity"] += _series(prefix, index, [("MAdds", _madds(view, divisor))],
                                     yside="right", markers=MARKERS[1:])
        specs["entropy"] += _series(prefix, index, [
            (t, _entropy(view, t, False)) for t in state.CELL_TYPES])
        specs["entropy"] += _series(prefix, index, [
            (f"{t} w" if of_phi else t, _entropy(view, t, True)) for t in state.CELL_TYPES])
        front, dominated = _pareto(view, pareto_divisor)
        named = prefix if pareto_runs > 1 else ""
        specs["pareto"] += _series(named, index, [("", front)], markers=(FRONT_MARKER,))
        specs["pareto"] += _series(named, index, [("", dominated)],
                                   markers=(DOMINATED_MARKER,), lines=False)
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
        specs["learning_rate"] += _series(prefix, index, [("", _points(view, "learning_rate"))])
        specs["drop_path"] += _series(prefix, index, [("", _points(view, "drop_path"))])
    titles = {
        "sparsity": (f"sparsity (left), MAdds{f' in {unit}' if unit else ''} (right)"
                     if madds else "sparsity (pruned fraction)"),
        "entropy": ("mean normalized entropy" if not of_weights
                    else "mean normalized entropy of |w| / Σ|w|" if not of_phi
                    else "normalized entropy: Phi, |w|/Σ|w| (w)"),
        "temperature": "temperature T (left), threshold theta (right)",
        "loss": "loss",
        "accuracy": "accuracy",
        "epoch_time": "epoch seconds",  # the time left is on the progress bar
        "learning_rate": "learning rate",
        "drop_path": "drop-path probability",
        "pareto": pareto_title(views, selected, pareto_unit),
    }
    training_only = bool(views) and all(v.run_kind == "train" for v in views)
    training = any(v.run_kind == "train" for v in views)
    epochs = [e for v in views for e in v.epochs if is_drawable(e)]
    x_range = (min(epochs), max(epochs)) if epochs else None
    has_pareto = any(v.pareto for v in views)
    # A retraining run shows its learning rate and drop path instead of the search's charts.
    shown = {"pareto": has_pareto, **{name: training for name in TRAIN_ONLY},
             **{name: not training_only for name in SEARCH_ONLY}}
    return [ChartSpec(name, titles[name], specs[name],
                      TRAINING_RUN if training_only and name in SEARCH_ONLY
                      else NO_ACCURACY if name == "pareto" and has_pareto
                      else NO_FINITE_VALUE if epochs else NO_EPOCH_YET,
                      None if name == "pareto" else x_range,
                      shown.get(name, True))
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


def format_madds(value: float | None) -> str:
    """`397k`, `1.25M`, `598M` (3 significant digits); `-` for None or a non-finite number."""
    if not is_drawable(value):
        return "-"
    divisor, suffix = madds_unit([value])
    return f"{value / divisor:.3g}{suffix}"
