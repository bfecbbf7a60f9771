"""The evolving cell: each node's incoming edges with their ops and weights."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui import charts, state


@dataclass(frozen=True)
class OpCell:
    """One candidate op on one edge, as shown."""

    op: str
    weight: float | None  # None: logged as null (NaN or inf)
    alive: bool
    chosen: bool


@dataclass(frozen=True)
class EdgeRow:
    """One edge: its endpoints and its ops, strongest first."""

    source: int
    target: int
    ops: tuple

    @property
    def chosen(self) -> bool:
        return any(op.chosen for op in self.ops)


# Short op names keep a 7-op edge on one line; the help line under the title spells them out.
SHORT = {"sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5", "dil_conv_3x3": "dil3",
         "dil_conv_5x5": "dil5", "max_pool_3x3": "max", "avg_pool_3x3": "avg",
         "skip_connect": "skip", "none": "none"}
# What the shown op weights are, by the epoch's relaxation (`epoch.relaxation`).
WEIGHT_MEANING = {
    "softmax": "Phi = softmax over the edge's alive ops (sums to 1)",
    "sigmoid": "w = each op's own sigmoid gate (no sum to 1)",
    "identity": "w = alpha, unnormalised (may be negative or above 1)",
}
# Beyond this magnitude a weight is shown in exponent form, so an edge stays one line.
WIDE_WEIGHT = 1000.0


def node_name(index: int) -> str:
    return ("c_{k-2}", "c_{k-1}")[index] if index < 2 else f"node {index - 2}"


def chosen_ops(genotype: dict | None, cell_type: str) -> set[tuple[int, int, str]]:
    """`(source, node, op)` of each op a genotype dict keeps in one cell type.

    DARTS form: pair i feeds node i // 2 + 2. Free form (`"topology": "free"`): its
    `[op, source, node]` triples, several ops on one edge and dead nodes absent.
    """
    if not genotype:
        return set()
    cell = genotype.get(cell_type) or []
    if genotype.get("topology") == "free":
        return {(int(src), int(dst), str(op)) for op, src, dst in cell}
    return {(int(src), 2 + i // 2, str(op)) for i, (op, src) in enumerate(cell)}


def edge_rows(view: state.RunView, cell_type: str) -> list[EdgeRow]:
    """The edges of `cell_type` in the run's latest epoch, with the genotype's marked."""
    phi = view.phi.get(cell_type)
    alive = view.alive.get(cell_type)
    if not phi or not alive:
        return []
    chosen = chosen_ops(view.genotype, cell_type)
    rows = []
    for e, (src, dst) in enumerate(state.edge_endpoints(min(len(phi), len(alive)))):
        ops = [OpCell(name, weight, bool(on), (src, dst, name) in chosen)
               for name, weight, on in zip(view.ops, phi[e], alive[e])]
        ops.sort(key=lambda o: (not o.alive, o.weight is None, -(o.weight or 0.0)))
        rows.append(EdgeRow(src, dst, tuple(ops)))
    return rows


class CellGraph(Static):
    """Shows one cell type; `show(view, cell_type)` redraws it."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.cell_type = "normal"
        self.relaxation = state.DISTRIBUTION
        self.rows: list[EdgeRow] = []

    def show(self, view: state.RunView, cell_type: str) -> None:
        self.cell_type = cell_type
        self.relaxation = view.relaxation
        self.rows = edge_rows(view, cell_type)
        self.update(self.render_rows(view.run_kind))

    def render_rows(self, run_kind: str = "search") -> Text:
        return cell_text(self.rows, self.cell_type, run_kind, self.relaxation)


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
    """The cell as text: each node's incoming edges, ops strongest first."""
    text = Text()
    text.append(f"{cell_type} cell", style="bold")
    text.append("  genotype ops green, pruned ops dimmed; sep/dil = separable/dilated "
                "conv 3x3/5x5, max/avg = 3x3 pool\n", style="dim")
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
