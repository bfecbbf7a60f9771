"""The monitor on a search whose losses went NaN: it keeps running, says so, and draws."""

import pytest

from tests.tui.conftest import diverged_lines, recorded_events
from tests.tui.test_app import SIZE, app_for, wait_for
from tui.charts import CHART_NAMES
from tui.widgets.chart import Chart
from tui.widgets.run_header import RunHeader

DIVERGED_FROM = 1


def diverged_log_with_bad_lines():
    """The recorded run diverged from epoch 1, plus lines that crashed the monitor before."""
    import time

    lines = diverged_lines(DIVERGED_FROM, shift=time.time() - recorded_events()[-1].time)
    epochs = [i for i, text in enumerate(lines) if text.startswith('{"v":1,"kind":"epoch"')]
    healthy, diverged = epochs[DIVERGED_FROM - 1], epochs[DIVERGED_FROM]
    nan_literal = lines[diverged].replace('"temperature":null', '"temperature":NaN')
    nan_string = lines[diverged].replace('"temperature":null', '"temperature":"NaN"')
    assert nan_literal != lines[diverged] and nan_string != lines[diverged]
    bad = [nan_literal, nan_string, '{"v":1,"kind":["step"],"time":1}\n']
    return lines[:healthy + 1], bad + lines[healthy + 1:]


@pytest.mark.asyncio
async def test_a_diverged_log_is_shown_as_diverged_and_every_chart_renders(tmp_path):
    run = tmp_path / "diverged"
    run.mkdir()
    (run / "run.json").write_text("{}")
    head, tail = diverged_log_with_bad_lines()
    log = run / "events.jsonl"
    log.write_text("".join(head))
    app = app_for(run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: len(app.view.epochs) == 1)
        assert "diverged" not in header.line
        with open(log, "a") as f:
            f.write("".join(tail))
        await wait_for(pilot, lambda: app.view.end_status == "finished")
        assert app.is_running
        assert f"diverged at epoch {DIVERGED_FROM}" in header.line
        assert len(app.view.errors) == 3 and "3 bad log line(s) skipped" in header.line
        assert "T null" in header.line
        loss = app.query_one("#chart-loss", Chart)
        assert loss.spec.series and all(x < DIVERGED_FROM for s in loss.spec.series
                                        for x in s.xs)
        for name in CHART_NAMES:
            chart = app.query_one(f"#chart-{name}", Chart)
            shown = str(chart.render())
            assert chart.spec.title.split(" ")[0] in shown and "cannot draw" not in shown
        await pilot.press("c")  # the reduction cell, with its last Phi, still draws
        await pilot.pause(0.1)
        assert app.is_running
