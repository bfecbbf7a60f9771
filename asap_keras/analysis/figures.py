"""The paper's search diagnostics drawn with matplotlib: Figs. 3, 6 and 7 over several runs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from asap_keras.analysis.series import RunSeries, relative_durations

# One colour and one marker per run (colours repeat after ten, markers after eight).
COLORS = matplotlib.colormaps["tab10"].colors
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<")
SERIES_GID = "series"  # the gid prefix of each run's main line: `series-<figure>-<run index>`
NO_DATA = "no search epochs in these runs"
GRACE_LABEL = "grace epochs (bars below; hollow markers)"


def run_style(index: int) -> dict:
    """The colour and marker of the `index`-th run, the same in every figure."""
    return {"color": COLORS[index % len(COLORS)], "marker": MARKERS[index % len(MARKERS)]}


def _new_figure(runs: list[RunSeries], rows: int = 1) -> tuple[Figure, list]:
    # Widen for long legend entries (run name + method) so the axes keep their width.
    longest = max((len(run.label) for run in runs), default=0)
    width = 9.0 + 0.07 * max(0, longest - 30)
    fig = Figure(figsize=(width, 3.4 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, list(axes)


def _plot_series(ax, xs, ys, index, label, gid, grace=None):
    """One run's line; grace epochs drawn with hollow markers."""
    style = run_style(index)
    points = [(x, y) for x, y in zip(xs, ys) if y is not None]
    if not points:
        return None
    (line,) = ax.plot([p[0] for p in points], [p[1] for p in points], label=label,
                      color=style["color"], marker=style["marker"], markersize=5,
                      linewidth=1.6)
    line.set_gid(gid)
    if grace:
        hollow = [(x, y) for x, y, g in zip(xs, ys, grace) if g and y is not None]
        if hollow:
            ax.plot([p[0] for p in hollow], [p[1] for p in hollow], linestyle="none",
                    marker=style["marker"], markersize=5, markerfacecolor="white",
                    markeredgecolor=style["color"], zorder=3)
    return line


def _grace_bars(ax, runs: list[RunSeries]) -> bool:
    """Marks each run's grace epochs (no architecture step) with a bar in its colour.

    The bars sit in a band below the data, one row per run that had grace epochs, so runs
    with different grace periods stay apart.
    """
    rows = [(index, [r.epoch for r in run.epochs if r.grace]) for index, run in enumerate(runs)]
    rows = [(index, grace) for index, grace in rows if grace]
    if not rows:
        return False
    low, high = ax.get_ylim()
    step = 0.045 * (high - low)
    for k, (index, grace) in enumerate(rows):
        ax.hlines(low - (k + 0.5) * step, min(grace) - 0.35, max(grace) + 0.35,
                  color=run_style(index)["color"], linewidth=4, alpha=0.6)
    ax.set_ylim(low - len(rows) * step, high)
    return True


def _grace_key(shown: bool) -> list:
    """The legend entry of the grace bars (a fresh proxy artist per legend)."""
    return [(Line2D([], [], color="grey", linewidth=4, alpha=0.6), GRACE_LABEL)] if shown else []


def _legend(ax, extra=()):
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles + [h for h, _ in extra], labels + [t for _, t in extra]
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize="small", frameon=False)


def _empty(fig: Figure, runs) -> bool:
    if any(run.epochs for run in runs):
        return False
    fig.text(0.5, 0.5, NO_DATA, ha="center", va="center", color="grey")
    return True


def duration_and_sparsity(runs: list[RunSeries]) -> Figure:
    """Fig. 3: relative epoch duration and 1 - sparsity per epoch, one line per run.

    The duration is the epoch's time without its trace events (rebuilding the step), over
    the same for the run's first epoch with architecture steps. Grace epochs are drawn with
    hollow markers and a bar in the run's colour below the data.
    """
    fig, (top, bottom) = _new_figure(runs, rows=2)
    fig.suptitle("Epoch duration and sparsity along the search (cf. ASAP Fig. 3)")
    for index, run in enumerate(runs):
        epochs = [row.epoch for row in run.epochs]
        grace = [row.grace for row in run.epochs]
        _plot_series(top, epochs, relative_durations(run), index, run.label,
                     f"{SERIES_GID}-duration-{index}", grace)
        live = [None if row.sparsity is None else 1.0 - row.sparsity for row in run.epochs]
        _plot_series(bottom, epochs, live, index, run.label,
                     f"{SERIES_GID}-sparsity-{index}", grace)
    top.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    top.set_ylim(bottom=0)
    top.set_ylabel("relative epoch duration\n(first architecture epoch = 1)")
    bottom.set_ylabel("1 - sparsity\n(live ops / candidate ops)")
    bottom.set_ylim(-0.02, 1.05)
    any_grace = _grace_bars(top, runs)
    _grace_bars(bottom, runs)
    bottom.set_xlabel("epoch")
    bottom.xaxis.get_major_locator().set_params(integer=True)
    _legend(top, _grace_key(any_grace))
    _empty(fig, runs)
    return fig


def validation_accuracy(runs: list[RunSeries]) -> Figure:
    """Fig. 6: the supernet's validation accuracy per epoch, then after the final prune.

    The point after the final hard prune to the derived cell (the `final_prune` event) is
    drawn one step after the last epoch as a star, joined to it by a dashed segment.
    """
    fig, (ax,) = _new_figure(runs)
    fig.suptitle("Validation accuracy along the search (cf. ASAP Fig. 6)")
    any_final = False
    for index, run in enumerate(runs):
        epochs = [row.epoch for row in run.epochs]
        accuracy = [row.val_accuracy for row in run.epochs]
        final = run.final_prune
        if final is None or final.val_accuracy is None:
            final, label = None, f"{run.label}, no final prune logged"
        else:
            label = run.label
        _plot_series(ax, epochs, accuracy, index, label, f"{SERIES_GID}-accuracy-{index}",
                     [r.grace for r in run.epochs])
        if final is None:
            continue
        any_final = True
        last = next(((e, a) for e, a in zip(reversed(epochs), reversed(accuracy))
                     if a is not None), None)
        x = (last[0] if last else final.epoch) + 1
        color = run_style(index)["color"]
        if last is not None:
            ax.plot([last[0], x], [last[1], final.val_accuracy], color=color,
                    linestyle="--", linewidth=1.2)
        ax.plot([x], [final.val_accuracy], linestyle="none", marker="*", markersize=13,
                color=color)
    ax.set_ylabel("validation accuracy (supernet)")
    any_grace = _grace_bars(ax, runs)
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    extra = [(Line2D([], [], color="grey", linestyle="--", marker="*", markersize=11),
              "after the final prune")] if any_final else []
    _legend(ax, extra + _grace_key(any_grace))
    _empty(fig, runs)
    return fig


def _entropy_of(run: RunSeries) -> tuple[str, str]:
    """Which entropy a run's Fig. 7 line shows: `(EpochRow field, legend suffix)`.

    Phi's entropy where the op weights are a distribution (softmax); else (GOLD-NAS'
    gates, NAP's alphas) that of each edge's weights divided by their sum, so named.
    """
    if any(row.entropy for row in run.epochs) or not any(row.weight_entropy
                                                         for row in run.epochs):
        return "entropy", ""
    return "weight_entropy", ", entropy of w / sum w"


def cell_entropy(runs: list[RunSeries]) -> Figure:
    """Fig. 7: the mean normalized entropy of the cells per epoch (dotted: per cell type).

    Runs whose op weights are not a distribution plot the entropy of each edge's weights
    divided by their sum, and say so in the legend.
    """
    fig, (ax,) = _new_figure(runs)
    fig.suptitle("Mean normalized cell entropy along the search (cf. ASAP Fig. 7)")
    types = []
    for index, run in enumerate(runs):
        epochs = [row.epoch for row in run.epochs]
        key, suffix = _entropy_of(run)
        means = [getattr(row, f"mean_{key}") for row in run.epochs]
        _plot_series(ax, epochs, means, index, run.label + suffix,
                     f"{SERIES_GID}-entropy-{index}", [r.grace for r in run.epochs])
        cell_types = sorted({t for row in run.epochs for t in getattr(row, key)})
        for cell_type, style in zip(cell_types, (":", "-.", (0, (1, 3)))):
            values = [getattr(row, key).get(cell_type) for row in run.epochs]
            points = [(e, v) for e, v in zip(epochs, values) if v is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], linestyle=style,
                    linewidth=1.0, color=run_style(index)["color"], alpha=0.8)
            if cell_type not in [t for t, _ in types]:
                types.append((cell_type, style))
    ax.set_ylabel("normalized entropy\n(mean over edges; 1 = uniform, 0 = one op)")
    ax.set_ylim(-0.02, 1.05)
    any_grace = _grace_bars(ax, runs)
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    _legend(ax, [(Line2D([], [], color="grey", linestyle=s, linewidth=1.0), f"{t} cells")
                 for t, s in types] + _grace_key(any_grace))
    _empty(fig, runs)
    return fig


FIGURES = {
    "fig3_duration_sparsity": duration_and_sparsity,
    "fig6_validation_accuracy": validation_accuracy,
    "fig7_cell_entropy": cell_entropy,
}


def save_figure(fig: Figure, out_dir: Path, stem: str) -> dict[str, Path]:
    """Writes `stem.png` and `stem.svg` into `out_dir`, each atomically.

    Returns:
        `{"png": path, "svg": path}`.
    """
    paths = {}
    with matplotlib.rc_context({"svg.hashsalt": stem, "svg.fonttype": "none"}):
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=120, metadata=metadata)
            paths[fmt] = _atomic_write_bytes(Path(out_dir) / f"{stem}.{fmt}",
                                             buffer.getvalue())
    return paths


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    """As `run_dir.atomic_write_text`, for bytes."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
