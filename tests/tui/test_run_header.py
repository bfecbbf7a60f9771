"""The header text of a run: diverged, failed, traces, and numbers logged as null."""

import json

from asap_keras import events
from tests.tui.conftest import diverged_lines, recorded_events
from tui import state
from tui.charts import format_seconds
from tui.widgets.cell_graph import cell_text, edge_rows
from tui.widgets.prune_log import row_cells
from tui.widgets.run_header import header_text


def fold(lines):
    view = state.RunView("run")
    for line in lines:
        state.apply(view, events.decode(line))
    view.log_found = True
    return view


def test_a_diverged_run_says_so_with_the_epoch_the_log_and_charts_use():
    lines = diverged_lines(1)
    view = fold(lines)
    end = events.decode(lines[-1]).time
    line = header_text(view, end + 10, True).plain
    assert "diverged at epoch 1" in line and " finished " in line
    assert "T null" in line, "the last epoch's T was NaN"
    live = fold([text for text in lines if '"kind":"run_end"' not in text])
    assert "diverged at epoch 1" in header_text(live, end + 1, True).plain
    first_epoch = next(i for i, text in enumerate(lines) if '"kind":"epoch"' in text)
    assert "diverged" not in header_text(fold(lines[:first_epoch + 1]), end, True).plain


def test_a_failed_run_shows_failed_and_a_cut_reason():
    evts = [e for e in recorded_events() if e.kind != "run_end"]
    lines = [events.encode(e.kind, when=e.time, **e.data) for e in evts]
    lines.append(events.encode("run_end", when=evts[-1].time, status="failed", epoch=2,
                               reason="RuntimeError: " + "x" * 500, seconds=3.0))
    line = header_text(fold(lines), evts[-1].time + 1, True).plain
    assert " failed " in line and "RuntimeError: xxx" in line and "x" * 200 not in line


def test_null_numbers_are_shown_as_null_in_the_cell_and_prune_log():
    nan = float("nan")
    lines = []
    for e in recorded_events():
        data = dict(e.data)
        if e.kind == "epoch":
            data["phi"] = {t: [[nan, *row[1:]] for row in rows] for t, rows in e["phi"].items()}
        if e.kind == "prune":
            data["weight"] = nan
        if e.kind == "final_prune":
            data["val_accuracy"] = nan
        lines.append(events.encode(e.kind, when=e.time, **data))
    view = fold(lines)
    rows = edge_rows(view, "normal")
    assert rows and all(any(op.weight is None for op in row.ops) for row in rows)
    assert "null" in cell_text(rows, "normal").plain
    assert row_cells(view.prunes[0])[5] == "null"


def test_the_header_counts_the_step_graphs_traced_and_their_seconds():
    evts = recorded_events()
    lines = [events.encode(e.kind, when=e.time, **e.data) for e in evts]
    # By hand from the raw log: every trace event, train and test functions alike.
    raw = [json.loads(line) for line in lines]
    traces = [e["seconds"] for e in raw if e["kind"] == "trace"]
    assert len(traces) >= 2
    line = header_text(fold(lines), evts[-1].time + 1, True).plain
    assert f"({len(traces)} graph traces {format_seconds(sum(traces))})" in line
    # A trace logged without its seconds (null) still counts; nothing else moves.
    nulled = [*lines[:-1], events.encode("trace", when=evts[-1].time, epoch=0,
                                         seconds=float("nan"), live_ops=3), lines[-1]]
    line = header_text(fold(nulled), evts[-1].time + 1, True).plain
    assert f"({len(traces) + 1} graph traces {format_seconds(sum(traces))})" in line
    # A log without trace events (a retraining run's) shows no count.
    plain = [text for text in lines if '"kind":"trace"' not in text]
    assert "graph traces" not in header_text(fold(plain), evts[-1].time + 1, True).plain
