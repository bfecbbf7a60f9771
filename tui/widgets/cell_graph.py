"""The evolving cell, drawn as a graph or listed edge by edge, at the live or a past epoch."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui import cell_drawing, charts, state
from tui.cell_drawing import SHORT
from tui.cell_edges import (  # noqa: F401  (re-exported: the cell's data as the tests use it)
    EdgeRow,
    OpCell,
    chosen_ops,
    concat_nodes,
    edge_rows,
    genotype_at,
    snapshot,
)

# What the shown op weights are, by the epoch's relaxation (`epoch.relaxation`).
WEIGHT_MEANING = {
    "softmax": "Phi = softmax over the edge's alive ops (sums to 1)",
    "sigmoid": "w = each op's own sigmoid gate (no sum to 1)",
    "identity": "w = alpha, unnormalised (may be negative or above 1)",
}
OP_NAMES = "sep/dil = separable/dilated conv 3x3/5x5, max/avg = 3x3 pool"
HISTORY_STYLE = "bold black on yellow"
TRAINING_CELL = "a retraining run logs no cell weights: its fixed cell is in genotype.json"
# Beyond this magnitude a weight is shown in exponent form, so an edge stays one line.
WIDE_WEIGHT = 1000.0


def node_name(index: int) -> str:
    return ("c_{k-2}", "c_{k-1}")[index] if index < 2 else f"node {index - 2}"


def epoch_title(view: state.RunView, cell_type: str, epoch: int | None, mode: str) -> Text:
    """The panel's first line: the cell type, the epoch shown and whether it is live."""
    if view.run_kind == "train" and not view.history:
        return Text(TRAINING_CELL, style="dim")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{cell_type} cell", style="bold")
    last = view.last_epoch
    if epoch is None:
        shown = "no epoch yet" if last is None else f"epoch {last} (live)"
        text.append(f" · {shown} · {mode}", style="dim")
    else:  # two short lines: both must show in a panel of 45 cells
        text.append(f" ◀ epoch {epoch} of 0-{last} · not live ", style=HISTORY_STYLE)
        text.append("\nhistory: ←/→ step, Home the first, l live", style="yellow")
    return text


class CellGraph(Static):
    """Shows one cell type; `show(view, cell_type, epoch, mode)` redraws it.

    Attributes:
        rows: the edges shown.
        epoch: the epoch shown (None: the live, latest one).
        mode: "graph" or "list" as asked; `drawn` says which was drawn ("list" where the
            widget is too narrow for the graph).
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.cell_type = "normal"
        self.relaxation = state.DISTRIBUTION
        self.rows: list[EdgeRow] = []
        self.epoch: int | None = None
        self.mode = "graph"
        self.drawn = "list"
        self.drawing: Text | None = None  # the graph last drawn
        self.shown = ""  # the plain text last shown
        self.title = Text()
        self._run_kind = "search"
        self._concat = None

    def show(self, view: state.RunView, cell_type: str, epoch: int | None = None,
             mode: str = "graph") -> None:
        shot = snapshot(view, epoch)
        self.cell_type, self.epoch, self.mode = cell_type, epoch, mode
        self.relaxation = shot.relaxation if shot else view.relaxation
        self.rows = edge_rows(view, cell_type, epoch)
        self.title = epoch_title(view, cell_type, epoch, mode)
        self._run_kind = view.run_kind
        self._concat = concat_nodes(genotype_at(view, epoch), cell_type)
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        drawing = None
        if self.mode == "graph" and self.rows:
            drawing = cell_drawing.draw(self.rows, self.relaxation, self._concat,
                                        self.content_size.width)
        self.drawing = drawing
        self.drawn = "graph" if drawing is not None else "list"
        if drawing is not None:
            parts = [self.title, drawing, graph_legend(self.relaxation)]
        elif self._run_kind == "train" and not self.rows:
            parts = [self.title]
        else:
            parts = [self.title, self.render_rows(self._run_kind)]
            if self.mode == "graph" and self.rows:
                parts.insert(1, Text("too narrow for the graph: the list (widen the "
                                     "terminal)", style="yellow"))
        self.shown = "\n".join(part.plain for part in parts)
        self.update(Group(*parts))

    def render_rows(self, run_kind: str = "search") -> Text:
        return cell_text(self.rows, self.cell_type, run_kind, self.relaxation)


def graph_legend(relaxation: str) -> Text:
    """The key under the graph: what a label says and what the weights are."""
    meaning = WEIGHT_MEANING.get(relaxation, f"w = {relaxation} weights (not a distribution)")
    return Text(f"each edge: its op over its weight; green: the genotype's op (+: it keeps "
                f"more on the edge); sep3⁵: the strongest of 5 alive ops; · no op left. "
                f"{OP_NAMES}. Weights: {meaning}. g: list view", style="dim")


def weight_text(op: OpCell, relaxation: str = state.DISTRIBUTION) -> str:
    """An op's weight as shown: Phi as `0.42`; a gate as `0.42`; other w (NAP's alpha)
    signed, `+1.37` or `-0.85`; `null` where the log has null.

    A pruned op's w is `-`: the log holds its mask's zero there, not its gate or alpha
    (a pruned op's Phi of 0 is its true share, and shown).
    """
    weight = op.weight
    if weight is None:
        return "null"
    if relaxation != state.DISTRIBUTION and not op.alive:
        return "-"
    sign = "" if relaxation in (state.DISTRIBUTION, "sigmoid") else "+"
    return f"{weight:{sign}.1e}" if abs(weight) >= WIDE_WEIGHT else f"{weight:{sign}.2f}"


def cell_text(rows: list[EdgeRow], cell_type: str, run_kind: str = "search",
              relaxation: str = state.DISTRIBUTION) -> Text:
    """The cell as a list: each node's incoming edges, ops strongest first."""
    text = Text()
    text.append(f"{cell_type} cell", style="bold")
    text.append(f"  genotype ops green, pruned ops dimmed; {OP_NAMES}\n", style="dim")
    meaning = WEIGHT_MEANING.get(relaxation, f"w = {relaxation} weights (not a distribution)")
    text.append(f"weights: {meaning}\n", style="dim")
    if not rows:
        empty = ("a training run: its fixed cell is in genotype.json"
                 if run_kind == "train" else charts.NO_EPOCH_YET)
        text.append(f"\n{empty}", style="dim")
        return text
    target = None
    for row in rows:
        if row.target != target:
            target = row.target
            text.append(f"\n{node_name(target)}\n", style="bold")
        mark = "●" if row.chosen else "○"
        text.append(f" {mark} {node_name(row.source):>8} ",
                    style="green" if row.chosen else "")
        for op in row.ops:
            style = ("bold green" if op.chosen else "") if op.alive else "dim strike"
            text.append(f"{SHORT.get(op.op, op.op)} {weight_text(op, relaxation)}",
                        style=style)
            text.append(" ")
        text.append("\n")
    return text
