"""GOLD, NAP and pre-GOLD logs as a user sees them: Pareto chart, entropy of w, signed w."""

import pytest

from asap_keras import events
from tests.tui.method_logs import (
    GOLD_DOMINATED,
    GOLD_FRONT,
    NAP_WEIGHT_ENTROPY,
    OLD_ENTROPY,
    gold_lines,
    nap_lines,
    old_asap_lines,
    write_run,
)
from tests.tui.test_app import wait_for
from tui import charts, state
from tui.app import MonitorApp
from tui.widgets.cell_graph import CellGraph, OpCell, weight_text
from tui.widgets.chart import Chart
from tui.widgets.run_header import RunHeader

SIZE = (180, 56)


def shown_charts(app):
    return {chart.chart_name for chart in app.query(Chart) if chart.display}


async def finished(app, pilot):
    header = app.query_one(RunHeader)
    await wait_for(pilot, lambda: header.status == "finished")
    return header.line


@pytest.mark.asyncio
async def test_a_gold_run_shows_its_pareto_front_and_the_dominated_records(tmp_path):
    run = write_run(tmp_path / "gold-run", gold_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        header = await finished(app, pilot)
        chart = app.query_one("#chart-pareto", Chart)
        assert chart.display and chart.size.height >= 6
        assert shown_charts(app) == set(charts.CHART_NAMES) - set(charts.TRAIN_ONLY)
        front, dominated = chart.spec.series
        # Multiply-adds of 200k to 400k are charted in thousands.
        assert list(zip(front.xs, front.ys)) == [(m / 1e3, a) for m, a in GOLD_FRONT]
        assert list(zip(dominated.xs, dominated.ys)) == [
            (m / 1e3, a) for m, a in GOLD_DOMINATED]
        assert (front.marker, front.lines) == (charts.FRONT_MARKER, True)
        assert (dominated.marker, dominated.lines) == (charts.DOMINATED_MARKER, False)
        assert "front 3/6" in chart.spec.title and "MAdds (k)" in chart.spec.title
        drawn = str(chart.render())
        assert "front 3/6" in drawn and charts.FRONT_MARKER in drawn
        # The last epoch: supernet 380k multiply-adds, lambda 3.5e-5; GOLD holds T at 1.
        assert "Pareto front 3/6" in header and "supernet MAdds 380k" in header
        assert "λ 3.5e-05" in header and " T " not in header
        sparsity = app.query_one("#chart-sparsity", Chart).spec
        madds = next(s for s in sparsity.series if s.yside == "right")
        assert madds.ys == [500.0, 480.0, 450.0, 420.0, 400.0, 380.0]
        assert "MAdds in k" in sparsity.title
        cell = app.query_one(CellGraph)
        assert cell.relaxation == "sigmoid"
        text = cell.render_rows().plain
        assert "w = each op's own sigmoid gate" in text
        assert "sep3 0.75 skip 0.50" in text and "skip 0.62 sep3 -" in text
        await pilot.press("s")
        await pilot.pause(0.2)
        saved = sorted(p.name for p in (tmp_path / "exports").glob("*.svg"))
        # The screen, and every chart but a retraining run's learning rate and drop path.
        assert len(saved) == 1 + len(charts.CHART_NAMES) - len(charts.TRAIN_ONLY)
        assert any(name.endswith("-pareto.svg") for name in saved)


@pytest.mark.asyncio
async def test_an_asap_run_shows_no_pareto_chart(recorded_run, tmp_path):
    app = MonitorApp(recorded_run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        header = await finished(app, pilot)
        assert shown_charts(app) == set(charts.CHART_NAMES) - {"pareto", *charts.TRAIN_ONLY}
        assert not app.query_one("#chart-pareto", Chart).spec.series
        assert "Pareto" not in header


@pytest.mark.asyncio
async def test_a_nap_run_charts_the_entropy_of_its_weights_and_signs_them(tmp_path):
    run = write_run(tmp_path / "nap-run", nap_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        header = await finished(app, pilot)
        entropy = app.query_one("#chart-entropy", Chart).spec
        assert entropy.title == "mean normalized entropy of |w| / Σ|w|"
        by_label = {s.label: (s.xs, s.ys) for s in entropy.series}
        assert by_label == {
            "normal": ([0, 1, 2], [e["normal"] for e in NAP_WEIGHT_ENTROPY]),
            "reduce": ([0, 1], [0.8, 0.7]),  # epoch 2's is null: a gap
        }
        assert "mean normalized entropy of |w|" in str(
            app.query_one("#chart-entropy", Chart).render())
        assert "pareto" not in shown_charts(app)
        assert "supernet MAdds 150k" in header
        assert " T " not in header and "λ" not in header and "Pareto" not in header
        cell = app.query_one(CellGraph)
        text = cell.render_rows().plain
        assert "weights: w = alpha, unnormalised (may be negative or above 1)" in text
        # Strongest first by the signed alpha; a pruned op's w is unknown, shown as -.
        assert "sep3 +2.50 skip -0.75" in text and "skip +1.25 sep3 -" in text
        await pilot.press("c")
        text = cell.render_rows().plain
        assert "skip +0.25 sep3 -0.50" in text and "sep3 +0.00 skip -" in text


@pytest.mark.asyncio
async def test_a_log_from_before_gold_and_nap_shows_as_it_did(tmp_path):
    run = write_run(tmp_path / "old-run", old_asap_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        header = await finished(app, pilot)
        assert "T 0.650" in header and "MAdds" not in header and "λ" not in header
        entropy = app.query_one("#chart-entropy", Chart).spec
        assert entropy.title == "mean normalized entropy"
        assert {s.label: s.ys for s in entropy.series} == {
            t: [e[t] for e in OLD_ENTROPY] for t in state.CELL_TYPES}
        sparsity = app.query_one("#chart-sparsity", Chart).spec
        assert sparsity.title == "sparsity (pruned fraction)"
        assert [s.label for s in sparsity.series] == [""]
        assert shown_charts(app) == set(charts.CHART_NAMES) - {"pareto", *charts.TRAIN_ONLY}
        text = app.query_one(CellGraph).render_rows().plain
        assert "weights: Phi = softmax" in text
        assert "sep3 0.75 skip 0.25" in text and "skip 1.00 sep3 0.00" in text


def test_an_overlay_of_gold_and_asap_marks_the_entropy_of_w():
    views = []
    for name, lines in (("gold", gold_lines()), ("old", old_asap_lines())):
        view = state.RunView(name)
        for text in lines:
            state.apply(view, events.decode(text))
        views.append(view)
    specs = {s.name: s for s in charts.build_specs(views, 1)}
    assert [s.label for s in specs["entropy"].series] == [
        "gold-run normal w", "gold-run reduce w", "asap-run normal", "asap-run reduce"]
    assert "|w|" in specs["entropy"].title and "Phi" in specs["entropy"].title
    # One run with records: its points need no legend, which would hide the front.
    assert specs["pareto"].shown and {s.label for s in specs["pareto"].series} == {""}
    assert "front" in specs["pareto"].title and "3/6" not in specs["pareto"].title


@pytest.mark.parametrize("weight, alive, relaxation, shown", [
    (0.42, True, "softmax", "0.42"),
    (0.0, False, "softmax", "0.00"),  # a pruned op's Phi is 0: its true share
    (0.5, True, "sigmoid", "0.50"),
    (0.03, False, "sigmoid", "-"),  # the log holds the mask's zero, not the gate
    (-0.75, True, "identity", "-0.75"),
    (2.5, True, "identity", "+2.50"),
    (12345.0, True, "identity", "+1.2e+04"),
    (None, True, "identity", "null"),
    (-1.5, True, "some_future_relaxation", "-1.50"),
])
def test_weight_text(weight, alive, relaxation, shown):
    assert weight_text(OpCell("sep_conv_3x3", weight, alive, False), relaxation) == shown


def test_a_title_wider_than_its_chart_is_cut_not_dropped():
    from tui.widgets.chart import render_chart

    view = state.RunView("nap")
    for text in nap_lines():
        state.apply(view, events.decode(text))
    sparsity = next(s for s in charts.build_specs([view], 0) if s.name == "sparsity")
    assert sparsity.title == "sparsity (left), MAdds in k (right)"
    first = render_chart(sparsity, 28, 12).plain.splitlines()[0]
    assert first.strip() == sparsity.title[:27] + "…"
