"""Rendered charts: legends outside the plot, padded axes for one value, training charts."""

import re

import pytest

from asap_keras import events
from tests.tui.method_logs import line, write_run
from tests.tui.test_app import wait_for
from tui import charts, state
from tui.app import MonitorApp
from tui.widgets.chart import Chart, render_chart

TICK = re.compile(r"^\s*(-?[0-9.]+)┤")


def y_ticks(text: str) -> list[float]:
    """The left axis' tick values of a rendered chart."""
    return [float(m.group(1)) for m in map(TICK.match, text.splitlines()) if m]


def plot_area(text: str) -> list[str]:
    """The lines from the plot's top frame line to its bottom one."""
    lines = text.splitlines()
    top = next(i for i, row in enumerate(lines) if "┌" in row)
    bottom = next(i for i, row in enumerate(lines) if "└" in row)
    return lines[top:bottom + 1]


@pytest.mark.parametrize("value", [0.42, 2.3, -5.0, 0.0])
def test_one_point_gets_an_axis_padded_around_its_value(value):
    spec = charts.ChartSpec("loss", "loss", [charts.Series("train", [3], [value],
                                                           charts.run_color(0))], x_range=(3, 3))
    ticks = y_ticks(render_chart(spec, 60, 16).plain)
    low, high = min(ticks), max(ticks)
    assert low < value < high and (low, high) != (-1.0, 1.0)
    # 10% of the value either side (0.1 around 0), as the ticks print it.
    pad = abs(value) * 0.1 or 0.1
    assert low == pytest.approx(value - pad, abs=0.01)
    assert high == pytest.approx(value + pad, abs=0.01)


def test_one_epoch_spans_the_epochs_around_it_none_below_zero():
    spec = charts.ChartSpec("loss", "loss", [charts.Series("train", [0], [1.0],
                                                           charts.run_color(0))], x_range=(0, 0))
    text = render_chart(spec, 60, 16).plain
    axis = text.splitlines()[text.splitlines().index(plot_area(text)[-1]) + 1]
    ticks = [float(tick) for tick in axis.split()]
    assert (min(ticks), max(ticks)) == (0.0, 1.0)


def two_series(labels):
    xs = list(range(12))
    # Both series fill the top left corner, where plotext put its legend box.
    return charts.ChartSpec("loss", "loss", [
        charts.Series(labels[0], xs, [1.0 - 0.05 * x for x in xs], charts.run_color(0)),
        charts.Series(labels[1], xs, [0.95 - 0.02 * x for x in xs], charts.run_color(0), "hd"),
    ], x_range=(0, 11))


@pytest.mark.parametrize("width, height, inline", [(40, 12, False), (30, 8, False),
                                                   (60, 16, True)])
def test_the_legend_covers_no_point(width, height, inline):
    labelled = render_chart(two_series(["train loss", "validation loss"]), width, height).plain
    lines = labelled.splitlines()
    assert len(lines) == height
    under = lines[lines.index(plot_area(labelled)[-1]) + 2:]  # the lines under the x ticks
    # On the title line where it fits beside the title, else on lines under the chart.
    legend = lines[0] if inline else " ".join(under)
    assert "⠤⠤ train loss" in legend and "▄▄ validation" in legend
    assert bool(under) is not inline
    for row in plot_area(labelled):
        assert "train" not in row and "validation" not in row
    # The same chart without labels, drawn as high as the labelled one's plot: every plotted
    # cell is the same, so no point was hidden.
    bare = render_chart(two_series(["", ""]), width, height - len(under)).plain
    assert plot_area(labelled) == plot_area(bare)


def test_a_right_axis_series_says_so_in_the_legend():
    spec = charts.ChartSpec("temperature", "T", [
        charts.Series("T", [0, 1], [1.0, 0.5], charts.run_color(0)),
        charts.Series("theta", [0, 1], [0.1, 0.2], charts.run_color(0), yside="right")])
    title = render_chart(spec, 60, 14).plain.splitlines()[0]
    assert title.strip() == "T   ⠤⠤ T   ⠤⠤ theta (right axis)"


LR = [0.05, 0.0375, 0.0125]
DROP_PATH = [0.0, 0.1, 0.2]


def train_lines():
    lines = [line("run_start", 0.0, run="train-run", seed=0, start_epoch=0, versions={},
                  run_kind="train", config={"train": {"epochs": 3}})]
    for e in range(3):
        lines.append(line("train_epoch", 10.0 * (e + 1), epoch=e,
                          metrics={"loss": 2.0 - e, "val_accuracy": 0.3 + 0.1 * e},
                          epoch_seconds=10.0, learning_rate=LR[e], drop_path=DROP_PATH[e]))
    return lines + [line("run_end", 40.0, status="finished", epoch=2, reason="epochs")]


def test_learning_rate_and_drop_path_series_are_the_events_values():
    view = state.RunView("t")
    for text in train_lines():
        state.apply(view, events.decode(text))
    specs = {s.name: s for s in charts.build_specs([view], 0)}
    assert [(s.xs, s.ys) for s in specs["learning_rate"].series] == [([0, 1, 2], LR)]
    assert [(s.xs, s.ys) for s in specs["drop_path"].series] == [([0, 1, 2], DROP_PATH)]
    assert {n for n, s in specs.items() if s.shown} == {
        "loss", "accuracy", "epoch_time", "learning_rate", "drop_path"}


@pytest.mark.asyncio
async def test_a_training_run_shows_its_learning_rate_and_drop_path_charts(tmp_path):
    run = write_run(tmp_path / "train-run", train_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.view.end_status == "finished")
        shown = {chart.chart_name for chart in app.query(Chart) if chart.display}
        assert shown == {"loss", "accuracy", "epoch_time", "learning_rate", "drop_path"}
        lr = app.query_one("#chart-learning_rate", Chart)
        assert lr.spec.series[0].ys == LR and "learning rate" in str(lr.render())
        drop = app.query_one("#chart-drop_path", Chart)
        assert drop.spec.series[0].ys == DROP_PATH
