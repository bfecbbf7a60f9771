"""Validation accuracy vs multiply-adds over several runs (cf. GOLD-NAS' Pareto front)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from asap_keras.analysis.figures import _legend, _new_figure, run_style
from asap_keras.analysis.pareto_view import ParetoView, pareto_view, size_text
from asap_keras.analysis.series import RunSeries

STEM = "pareto_accuracy_madds"
CAPTION = ("Validation accuracy vs multiply-adds (cf. GOLD-NAS' Pareto front): each run's "
           "derived cell (large, filled, at the table's final accuracy) and GOLD-NAS' Pareto "
           "records (the supernet's accuracy in their epoch): the front's white on its step "
           "line, the dominated ones hollow. Multiply-adds are those of each cell's "
           "evaluation network at its run's search network size (its cells and C), as the "
           "Pareto records count them, not the table's 20-cell, C=36 network.")
# gid prefixes of each run's artists: `<prefix>-<run index>`.
CELL_GID, RECORDS_GID, FRONT_GID = "cell", "pareto-records", "pareto-front"
NO_DATA = "no costed cell and no Pareto record in these runs"
MILLION = 1e6


def _draw_records(ax, view: ParetoView, index: int, label: str | None) -> None:
    """The run's Pareto records: the front as a step line with white markers at its members,
    the dominated records as faint hollow markers; each record is drawn once."""
    style = run_style(index)
    dominated = [r for r in view.records if r not in view.front]
    if dominated:
        ax.plot([r.multiply_adds / MILLION for r in dominated],
                [r.val_accuracy for r in dominated], linestyle="none", marker=style["marker"],
                markersize=6, markerfacecolor="none", markeredgecolor=style["color"],
                markeredgewidth=1.0, alpha=0.6, zorder=5, gid=f"{RECORDS_GID}-{index}")
    # "post": a front member's accuracy holds until the next, costlier member's.
    ax.step([r.multiply_adds / MILLION for r in view.front],
            [r.val_accuracy for r in view.front], where="post", color=style["color"],
            linewidth=1.5, marker=style["marker"], markersize=6, markerfacecolor="white",
            markeredgecolor=style["color"], markeredgewidth=1.5, zorder=5,
            gid=f"{FRONT_GID}-{index}", label=label)


def _draw_cell(ax, view: ParetoView, index: int, label: str) -> None:
    """The run's derived cell: one large filled marker (under its records)."""
    style = run_style(index)
    ax.plot([view.cell_madds / MILLION], [view.accuracy], linestyle="none",
            marker=style["marker"], markersize=12, color=style["color"],
            markeredgecolor="black", markeredgewidth=0.8, zorder=3,
            gid=f"{CELL_GID}-{index}", label=label)


def _name_cells(ax, runs, views) -> None:
    """Each drawn cell's run name beside it, on the side with more room."""
    low, high = ax.get_xlim()
    for index, (run, view) in enumerate(zip(runs, views)):
        if not view.placed:
            continue
        x = view.cell_madds / MILLION
        left = x > (low + high) / 2
        ax.annotate(run.name, (x, view.accuracy), xytext=(-9 if left else 9, -10),
                    textcoords="offset points", ha="right" if left else "left",
                    fontsize="x-small", color=run_style(index)["color"], zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.7})


def accuracy_vs_madds(runs: list[RunSeries], views: list[ParetoView] | None = None) -> Figure:
    """Each run's derived cell at (multiply-adds, final accuracy); Pareto records and front.

    x counts the multiply-adds per image of a cell's evaluation network at its run's
    search network size, the way GOLD-NAS' Pareto records are costed
    (`resource.evaluation_cost`), so a run's cell and its records compare like with like.
    A run without a costed cell or an accuracy draws only its records (if any).

    Args:
        runs: the search runs.
        views: their `pareto_view`s (computed here if omitted).
    """
    views = [pareto_view(run) for run in runs] if views is None else views
    fig, (ax,) = _new_figure(runs)
    fig.suptitle("Validation accuracy vs multiply-adds (cf. GOLD-NAS' Pareto front)")
    any_records = False
    for index, (run, view) in enumerate(zip(runs, views)):
        if view.records:
            any_records = True
            alone = None if view.placed else f"{run.label}, Pareto records only"
            _draw_records(ax, view, index, alone)
        if view.placed:
            _draw_cell(ax, view, index, run.label)
    ax.margins(x=0.08, y=0.08)
    _name_cells(ax, runs, views)
    ax.set_xlabel(f"multiply-adds per image (millions): evaluation network at the search "
                  f"network's size ({size_text(views)})")
    ax.set_ylabel("validation accuracy\n(cell: final; records: supernet in their epoch)")
    extra = [(Line2D([], [], color="grey", linestyle="none", marker="o", markersize=9,
                     markeredgecolor="black"), "derived cell (final val. accuracy)")]
    if any_records:
        extra += [(Line2D([], [], color="grey", marker="o", markerfacecolor="white",
                          markeredgewidth=1.5), "Pareto front (its records white)"),
                  (Line2D([], [], color="grey", linestyle="none", marker="o",
                          markerfacecolor="none", alpha=0.6), "dominated Pareto records")]
    _legend(ax, extra)
    if not any(view.placed or view.records for view in views):
        fig.text(0.5, 0.5, NO_DATA, ha="center", va="center", color="grey")
    return fig
