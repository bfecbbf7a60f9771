"""The cell drawn as a graph: node boxes, and each edge labelled with its op and weight.

The layout is a staircase: node k's box sits in column k (c_{k-2}, c_{k-1}, 0, 1, ...), a
line runs down from each box, and node k's row is a line into its box that crosses every
earlier node's line; the crossing of source j's line and target k's row carries edge
j -> k's label: its op over its weight. The intermediate nodes then join into c_{k}.
"""

from __future__ import annotations

from rich.text import Text

from tui import state

MIN_COLUMN, MAX_COLUMN = 6, 9  # cells per node column: a 4-letter op and 2 cells of line
STEM = 2  # where a node's line runs down inside its column
INPUTS = ("c_{k-2}", "c_{k-1}")
OUTPUT = "c_{k}"
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# Short op names (the list view's), so a label fits a column.
SHORT = {"sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5", "dil_conv_3x3": "dil3",
         "dil_conv_5x5": "dil5", "max_pool_3x3": "max", "avg_pool_3x3": "avg",
         "skip_connect": "skip", "none": "none"}
LINE, BOX, CHOSEN, DEAD = "bright_black", "bold", "bold green", "dim"


def graph_width(nodes: int, column: int = MIN_COLUMN) -> int:
    """The cells a cell of `nodes` intermediate nodes takes at `column` cells a column."""
    return (nodes + 2) * column + len(OUTPUT) + 2


def column_width(nodes: int, width: int) -> int | None:
    """The widest column (up to `MAX_COLUMN`) that fits `width`; None if none does."""
    column = (width - len(OUTPUT) - 2) // (nodes + 2)
    return min(column, MAX_COLUMN) if column >= MIN_COLUMN else None


def short_weight(weight: float | None, alive: bool, relaxation: str) -> str:
    """A weight in at most 5 cells: Phi and gates as `0.42`; other w signed, `+1.37`,
    `-12`, `+3e4`; `null` for null; `-` for a pruned op's w (the log holds its mask's 0)."""
    if weight is None:
        return "null"
    if relaxation != state.DISTRIBUTION and not alive:
        return "-"
    if relaxation in (state.DISTRIBUTION, "sigmoid") and 0.0 <= weight < 9.995:
        return f"{weight:.2f}"
    if abs(weight) < 9.995:
        return f"{weight:+.2f}"
    if abs(weight) < 999.5:
        return f"{weight:+.0f}"
    mantissa, exponent = f"{weight:+.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"[:5]


def edge_label(ops: tuple, relaxation: str) -> tuple[str, str, str]:
    """`(op, weight, style)` of one edge's label.

    The op is the genotype's (with `+` where it keeps more on the edge), else the strongest
    alive one, with the number of alive ops as a superscript where more than one is left;
    an edge with no alive op is `·`.
    """
    chosen = [op for op in ops if op.chosen]
    alive = [op for op in ops if op.alive]
    shown = chosen[0] if chosen else alive[0] if alive else None
    if shown is None:
        return "·", "", DEAD
    name = SHORT.get(shown.op, shown.op)[:4]
    if len(chosen) > 1:
        name += "+"
    elif len(alive) > 1:
        name += str(len(alive)).translate(SUPERSCRIPT) if len(alive) < 10 else "⁺"
    return (name, short_weight(shown.weight, shown.alive, relaxation),
            CHOSEN if chosen else "")


class _Canvas:
    """A grid of styled cells; `text()` turns it into lines."""

    def __init__(self, width: int, height: int):
        self.cells = [[(" ", "")] * width for _ in range(height)]

    def put(self, x: int, y: int, text: str, style: str = "") -> None:
        row = self.cells[y]
        for i, char in enumerate(text):
            if 0 <= x + i < len(row):
                row[x + i] = (char, style)

    def text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for y, row in enumerate(self.cells):
            if y:
                out.append("\n")
            last = len(row)
            while last and row[last - 1][0] == " ":
                last -= 1
            start = 0
            for x in range(1, last + 1):  # one span per run of cells of one style
                if x == last or row[x][1] != row[start][1]:
                    out.append("".join(c for c, _ in row[start:x]), style=row[start][1])
                    start = x
        return out


def _box(canvas: _Canvas, x: int, y: int, name: str, style: str, stem: bool) -> None:
    """A 3-line box whose bottom edge has the node's line leaving at `x + STEM`."""
    inner = max(3, len(name))
    canvas.put(x, y, "┌" + "─" * inner + "┐", style)
    canvas.put(x, y + 1, "│" + name.center(inner) + "│", style)
    bottom = "─" * inner
    if stem:
        bottom = bottom[:STEM - 1] + "┬" + bottom[STEM:]
    canvas.put(x, y + 2, "└" + bottom + "┘", style)


def draw(rows: list, relaxation: str, concat: list | None, width: int) -> Text | None:
    """The cell of `rows` (from `edge_rows`) as a graph at most `width` cells wide.

    Args:
        rows: the cell's edges, each with its ops (the genotype's marked `chosen`).
        relaxation: what the weights are (`softmax`: Phi).
        concat: the nodes joined into c_{k} (the genotype's `*_concat`); None: all.
        width: the cells available.

    Returns:
        The drawing, or None where `width` is too narrow for it.
    """
    if not rows:
        return None
    nodes = max(row.target for row in rows) - 1
    column = column_width(nodes, width)
    if column is None:
        return None
    joined = {t for t in (concat if concat is not None else range(2, nodes + 2))
              if 2 <= t < nodes + 2}
    by_edge = {(row.source, row.target): row for row in rows}
    last_use = {j: max([t for (s, t) in by_edge if s == j] + [j]) for j in range(nodes + 2)}
    height = 3 * (nodes + 2) + 2
    canvas = _Canvas(graph_width(nodes, column), height)
    for j, name in enumerate(INPUTS):
        _box(canvas, j * column, 3 * j, name, BOX, stem=True)
    for y in range(3, 6):  # c_{k-2}'s line, beside c_{k-1}'s box
        canvas.put(STEM, y, "│", LINE)
    for t in range(2, nodes + 2):
        y = 3 * t
        live = t in joined or last_use[t] > t or any(r.chosen for r in rows if r.target == t)
        for j in range(t):  # every line that still runs on passes the row's top line
            if last_use[j] >= t or j in joined:
                canvas.put(j * column + STEM, y, "│", LINE)
        canvas.put(0, y + 1, "─" * (t * column - 1) + "▶", LINE)
        for j in range(t):
            row = by_edge.get((j, t))
            op, weight, style = edge_label(row.ops, relaxation) if row else ("┼", "", LINE)
            x = j * column if op not in ("·", "┼") else j * column + STEM
            canvas.put(x, y + 1, op, style)
            if weight:
                canvas.put(j * column, y + 2, weight, style or "dim")
            else:  # no label under the crossing: the source's line runs on
                canvas.put(j * column + STEM, y + 2, "│", LINE)
        _box(canvas, t * column, y, str(t - 2), BOX if live else DEAD,
             stem=last_use[t] > t or t in joined)
    _join(canvas, sorted(joined), column, nodes)
    return canvas.text()


def _join(canvas: _Canvas, joined: list, column: int, nodes: int) -> None:
    """The line from the joined nodes into the c_{k} box, in the rows under the last node."""
    y = 3 * (nodes + 2)
    x_out = (nodes + 2) * column
    canvas.put(x_out, y - 1, "┌" + "─" * len(OUTPUT) + "┐", BOX)
    canvas.put(x_out, y, "│" + OUTPUT + "│", BOX)
    canvas.put(x_out, y + 1, "└" + "─" * len(OUTPUT) + "┘", BOX)
    if not joined:
        return
    start = joined[0] * column + STEM
    canvas.put(start, y, "─" * (x_out - start - 1) + "▶", LINE)
    for k, t in enumerate(joined):
        canvas.put(t * column + STEM, y, "└" if k == 0 else "┴", LINE)
