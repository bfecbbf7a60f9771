"""The cell drawing marks a genotype's ops, DARTS or free (several ops on one edge)."""

import pytest

from asap_keras import events
from tests.tui.conftest import recorded_events
from tui import state
from tui.app import MonitorApp
from tui.widgets.cell_graph import CellGraph, cell_text, chosen_ops, edge_rows

# The recorded search's ops are sep3, dil3, max, skip. Normal: two ops on the edge from
# input 1 to node 2 (index 2), node 3 dead, node 5 read from node 2; input 0 unread.
FREE = {"topology": "free", "nodes": 4,
        "normal": [["dil_conv_3x3", 1, 2], ["sep_conv_3x3", 1, 2], ["skip_connect", 2, 5]],
        "normal_concat": [2, 5], "reduce": [["max_pool_3x3", 0, 3]], "reduce_concat": [3]}


def free_lines():
    """The recorded log, its genotype and final_prune events carrying the free genotype."""
    lines = []
    for e in recorded_events():
        data = {**e.data, "genotype": FREE} if e.kind in ("genotype", "final_prune") else e.data
        lines.append(events.encode(e.kind, when=e.time, **data))
    return lines


def test_chosen_ops_of_both_forms_by_hand():
    assert chosen_ops(FREE, "normal") == {(1, 2, "dil_conv_3x3"), (1, 2, "sep_conv_3x3"),
                                          (2, 5, "skip_connect")}
    darts = {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2],
                        ["sep_conv_3x3", 0]], "normal_concat": [2, 3]}
    assert chosen_ops(darts, "normal") == {(0, 2, "sep_conv_3x3"), (1, 2, "skip_connect"),
                                           (2, 3, "max_pool_3x3"), (0, 3, "sep_conv_3x3")}
    assert chosen_ops(None, "normal") == set()


def test_a_free_genotype_marks_every_op_it_keeps():
    view = state.RunView("run")
    for line in free_lines():
        state.apply(view, events.decode(line))
    rows = edge_rows(view, "normal")
    assert len(rows) == 14
    marked = {(row.source, row.target, op.op) for row in rows for op in row.ops if op.chosen}
    assert marked == {(1, 2, "dil_conv_3x3"), (1, 2, "sep_conv_3x3"), (2, 5, "skip_connect")}
    assert [(row.source, row.target) for row in rows if row.chosen] == [(1, 2), (2, 5)]
    text = cell_text(rows, "normal").plain
    assert "node 3" in text and "genotype ops green" in text


@pytest.mark.asyncio
async def test_the_monitor_draws_a_free_genotype(tmp_path):
    run = tmp_path / "free-run"
    run.mkdir()
    (run / "events.jsonl").write_text("".join(line + "\n" for line in free_lines()))
    (run / "run.json").write_text("{}")
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(180, 56)) as pilot:
        for _ in range(200):
            if app.view.end_status:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        cell = app.query_one(CellGraph)
        assert app.view.genotype == FREE
        assert sum(op.chosen for row in cell.rows for op in row.ops) == 3
        await pilot.press("c")
        assert cell.cell_type == "reduce"
        assert [(row.source, row.target) for row in cell.rows if row.chosen] == [(0, 3)]
