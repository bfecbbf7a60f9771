"""Property tests of the monitor's fold and charts: any decodable log folds and draws."""

import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from asap_keras import events
from tests.tui.event_mutations import (
    LOGS,
    MILD_OPERATIONS,
    mutate,
    mutated_lines,
    mutated_records,
)
from tui import charts, progress, state
from tui.cell_drawing import draw
from tui.widgets.cell_graph import cell_text, concat_nodes, edge_rows, genotype_at
from tui.widgets.chart import render_chart
from tui.widgets.progress_bar import progress_text
from tui.widgets.prune_log import row_cells
from tui.widgets.run_header import header_text

# No shrinking: a whole log shrinks for minutes; a failure prints its (long) example as is.
FUZZ = settings(max_examples=60, deadline=None, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MILD_LINES = st.builds(lambda record: json.dumps(record, allow_nan=True),
                       mutated_records(operations=MILD_OPERATIONS))


@st.composite
def damaged_logs(draw):
    """A recorded log with lines changed in place, other events inserted, a slice moved."""
    lines = list(LOGS[draw(st.sampled_from(sorted(LOGS)))])
    kinds = [json.loads(line)["kind"] for line in lines]
    for _ in range(draw(st.integers(1, 12))):
        # rare kinds as often as steps; epochs, which carry what the charts draw, most
        kind = draw(st.sampled_from(["epoch", "epoch", "epoch", "train_epoch", "step",
                                     *sorted(set(kinds))]))
        if kind not in kinds or kind == "inserted":
            continue
        at = draw(st.sampled_from([i for i, k in enumerate(kinds) if k == kind]))
        how = draw(st.sampled_from(["own", "own", "own", "insert", "damage"]))
        if how == "own":  # the event in its place, changed (a diverged epoch, say)
            record = mutate(draw, json.loads(lines[at]), operations=MILD_OPERATIONS)
            lines[at] = json.dumps(record, allow_nan=True)
        else:
            lines.insert(at, draw(MILD_LINES if how == "insert" else mutated_lines()))
            kinds.insert(at, "inserted")
    if draw(st.booleans()):  # a slice moved: events out of order, a resume, a repeat
        start = draw(st.integers(0, len(lines) - 1))
        piece = lines[start:start + draw(st.integers(1, 20))]
        lines[draw(st.integers(0, len(lines))):0] = piece
    return lines


def decodable(lines):
    out = []
    for line in lines:
        try:
            out.append(events.decode(line))
        except events.EventError:
            continue
    return out


def assert_everything_draws(views):
    for selected in range(len(views)):
        for spec in charts.build_specs(views, selected):
            for series in spec.series:
                assert series.xs and len(series.xs) == len(series.ys)
                assert all(charts.is_drawable(v) for v in series.xs + series.ys), spec.name
            text = render_chart(spec, 60, 14).plain
            assert spec.title in text and "cannot draw" not in text


@FUZZ
@given(damaged_logs())
def test_any_decodable_log_folds_without_skipping_and_draws(lines):
    evts = decodable(lines)
    view = state.RunView("run")
    skipped = [state.apply(view, event) for event in evts]
    assert skipped == [None] * len(evts), [s for s in skipped if s]
    now = max((e.time for e in evts), default=0.0) + 5.0
    state.status(view, now)
    assert state.elapsed(view, now) >= 0.0
    left = progress.progress(view, now)
    charts.format_seconds(left.run_left if left else None)
    progress_text(view, now)
    header_text(view, now, following=True)
    for cell_type in state.CELL_TYPES:
        cell_text(edge_rows(view, cell_type), cell_type, view.run_kind, view.relaxation)
        genotype = genotype_at(view)
        for epoch in [None, *view.history]:  # the live cell, and every past epoch's
            rows = edge_rows(view, cell_type, epoch)
            drawing = draw(rows, view.relaxation, concat_nodes(genotype, cell_type), 60)
            assert drawing is None or max(map(len, drawing.plain.splitlines())) <= 60
    for row in view.prunes:
        assert len(row_cells(row)) == 7
    other = state.RunView("other")
    for event in decodable(LOGS["legacy_events.jsonl"]):
        state.apply(other, event)
    assert_everything_draws([view, other])


@FUZZ
@given(st.lists(st.tuples(st.integers(-5, 5), st.one_of(
    st.none(), st.floats(), st.sampled_from([1e308, -1e308, 1e300, 5e-324]))), max_size=12))
def test_charts_of_hand_built_points_hold_only_drawable_values(points):
    """EpochPoints made directly (not decoded) with any float, NaN and inf included."""
    view = state.RunView("r")
    for epoch, value in points:
        view.epochs[epoch] = state.EpochPoint(epoch, value, value, value, {"normal": value},
                                              {"loss": value, "val_loss": value}, value, 1, 2)
    assert_everything_draws([view])
