"""The cell drawn as a graph: node boxes, labelled edges, the genotype's green, any width."""

import re

import pytest

from asap_keras import events
from tests.tui.conftest import recorded_events
from tests.tui.test_app import wait_for
from tests.tui.test_cell_graph import FREE, free_lines
from tui import state
from tui.app import MonitorApp
from tui.cell_drawing import CHOSEN, SHORT, draw, graph_width, short_weight
from tui.cell_edges import EdgeRow, OpCell, edge_rows
from tui.widgets.cell_graph import CellGraph
from tui.widgets.run_header import RunHeader

# One node fed by c_{k-2} (sep3 0.75, the genotype's, skip 0.25 alive) and by c_{k-1}
# (skip 1.00; sep3 pruned).
ONE_NODE = [
    EdgeRow(0, 2, (OpCell("sep_conv_3x3", 0.75, True, True),
                   OpCell("skip_connect", 0.25, True, False))),
    EdgeRow(1, 2, (OpCell("skip_connect", 1.0, True, False),
                   OpCell("sep_conv_3x3", 0.0, False, False))),
]
# Drawn by hand at 6 cells a column: c_{k-2}'s line (cell 2) and c_{k-1}'s (cell 8) run
# down to node 0's row, whose line ends in its box; their crossings carry the labels, op
# over weight (² : sep3 is the stronger of 2 alive ops). Node 0 joins c_{k}.
ONE_NODE_DRAWN = """\
┌───────┐
│c_{k-2}│
└─┬─────┘
  │   ┌───────┐
  │   │c_{k-1}│
  │   └─┬─────┘
  │     │   ┌───┐
sep3²─skip─▶│ 0 │
0.75  1.00  └─┬─┘ ┌─────┐
              └──▶│c_{k}│
                  └─────┘"""


def test_a_one_node_cell_as_drawn_by_hand():
    drawing = draw(ONE_NODE, "softmax", None, graph_width(1))
    assert drawing.plain == ONE_NODE_DRAWN
    green = [drawing.plain[s.start:s.end] for s in drawing.spans if s.style == CHOSEN]
    assert green == ["sep3²", "0.75"]


def test_too_narrow_for_the_graph_is_none():
    assert draw(ONE_NODE, "softmax", None, graph_width(1) - 1) is None
    assert draw([], "softmax", None, 200) is None


@pytest.mark.parametrize("weight, alive, relaxation, shown", [
    (0.4242, True, "softmax", "0.42"), (1.0, True, "softmax", "1.00"),
    (0.5, True, "sigmoid", "0.50"), (0.03, False, "sigmoid", "-"),
    (-0.75, True, "identity", "-0.75"), (2.5, True, "identity", "+2.50"),
    (123.4, True, "identity", "+123"), (-12345.0, True, "identity", "-1e4"),
    (None, True, "softmax", "null"),
])
def test_short_weight_fits_a_column(weight, alive, relaxation, shown):
    assert short_weight(weight, alive, relaxation) == shown and len(shown) <= 5


def node_labels(text: str, node: int) -> list[str]:
    """The op labels on node `node`'s row, left to right, without count marks."""
    row = next(r for r in text.splitlines() if f"▶│ {node} │" in r)
    row = row[:row.index("▶│")]
    return [re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁺+]", "", label) for label in re.split(r"[─]+", row) if label]


def test_the_recorded_search_draws_each_edges_op_from_its_epoch_event():
    evts = recorded_events()
    view = state.RunView("run")
    for event in evts:
        state.apply(view, event)
    last = [e for e in evts if e.kind == "epoch"][-1]
    genotype = [e for e in evts if e.kind == "genotype"][-1]["genotype"]
    for cell_type in state.CELL_TYPES:
        text = draw(edge_rows(view, cell_type), "softmax", None, 45).plain
        assert max(len(r) for r in text.splitlines()) <= 45
        phi, alive = last["phi"][cell_type], last["alive"][cell_type]
        pairs = genotype[cell_type]
        for node in range(4):
            expected = []
            for source in range(node + 2):
                edge = sum(range(2, node + 2)) + source  # edges of earlier nodes first
                kept = [op for i, (op, src) in enumerate(pairs)
                        if i // 2 == node and src == source]
                strongest = max((k for k, on in enumerate(alive[edge]) if on),
                                key=lambda k: phi[edge][k])
                expected.append(SHORT[kept[0] if kept else last["ops"][strongest]])
            assert node_labels(text, node) == expected, (cell_type, node)


def test_a_free_genotype_marks_every_op_it_keeps_and_an_edge_keeping_two_says_plus():
    view = state.RunView("run")
    for text in free_lines():
        state.apply(view, events.decode(text))
    drawing = draw(edge_rows(view, "normal"), "softmax", FREE["normal_concat"], 60)
    green = [drawing.plain[s.start:s.end] for s in drawing.spans if s.style == CHOSEN]
    # Edge 1 -> node 0 keeps dil3 and sep3 (the stronger shown, + for the other);
    # edge node 0 -> node 3 keeps skip.
    last = [e for e in recorded_events() if e.kind == "epoch"][-1]
    # Edge 1 (c_{k-1} -> node 0): alive ops before pruned ones, then the stronger, then the
    # event's op order.
    weights = dict(zip(last["ops"], last["phi"]["normal"][1]))
    alive = dict(zip(last["ops"], last["alive"]["normal"][1]))
    first = min(("dil_conv_3x3", "sep_conv_3x3"),
                key=lambda op: (not alive[op], -weights[op], last["ops"].index(op)))
    assert green[:2] == [SHORT[first] + "+", f"{weights[first]:.2f}"]
    assert green[2] == "skip" and len(green) == 4
    # Only nodes 0 and 3 (2 and 5) join c_{k}: the join line starts under node 0, passes
    # nodes 1 and 2 and meets node 3.
    join = drawing.plain.splitlines()[-2]
    assert join.count("└") == 1 and join.count("┴") == 1 and join.endswith("│c_{k}│")


@pytest.mark.asyncio
@pytest.mark.parametrize("size, drawn", [((110, 36), "graph"), ((160, 50), "graph"),
                                         ((80, 30), "list")])
async def test_the_monitor_draws_the_graph_where_it_fits_and_lists_it_elsewhere(
        recorded_run, tmp_path, size, drawn):
    app = MonitorApp(recorded_run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.query_one(RunHeader).status == "finished")
        cell = app.query_one(CellGraph)
        assert cell.mode == "graph" and cell.drawn == drawn
        if drawn == "graph":  # every line fits the panel: nothing wraps or is cut
            lines = cell.drawing.plain.splitlines()
            assert max(len(row) for row in lines) <= cell.content_size.width
            assert "│c_{k}│" in cell.shown
        else:
            assert "too narrow for the graph" in cell.shown
        await pilot.press("g")
        assert cell.mode == "list" and cell.drawn == "list"
        assert "node 0" in cell.shown and "too narrow" not in cell.shown
