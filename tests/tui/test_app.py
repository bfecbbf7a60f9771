"""The monitor as a user drives it: Pilot tests on a recorded log and on a live one."""

import time

import pytest

from tests.tui.conftest import RECORDED, recorded_events, recorded_lines_ending_now
from tui.app import MonitorApp
from tui.help_screen import HelpScreen
from tui.widgets.cell_graph import CellGraph
from tui.widgets.chart import Chart
from tui.widgets.prune_log import PruneLog
from tui.widgets.run_header import RunHeader
from tui.widgets.run_list import RunList

SIZE = (180, 56)


async def wait_for(pilot, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
    await pilot.pause(0.3)  # let the throttled redraw run


def app_for(path, tmp_path):
    return MonitorApp(path, poll_seconds=0.05, export_dir=tmp_path / "exports")


@pytest.mark.asyncio
async def test_recorded_run_shows_the_numbers_of_its_log(recorded_run, tmp_path):
    evts = recorded_events()
    epochs = [e for e in evts if e.kind == "epoch"]
    last = epochs[-1]
    app = app_for(recorded_run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: header.status == "finished")
        assert evts[0]["run"] in header.line
        assert f"epoch {last['epoch'] + 1}/{evts[0]['config']['search']['epochs']}" in header.line
        assert f"live ops {last['live_ops']}/{last['total_ops']}" in header.line
        prunes = app.query_one(PruneLog)
        assert prunes.row_count == sum(e.kind == "prune" for e in evts)
        first_prune = next(e for e in evts if e.kind == "prune")
        assert prunes.get_row_at(0)[:5] == [str(first_prune["epoch"]), str(first_prune["step"]),
                                           first_prune["cell"], str(first_prune["edge"]),
                                           first_prune["op"]]
        cell = app.query_one(CellGraph)
        assert cell.cell_type == "normal" and len(cell.rows) == 14
        for e, row in enumerate(cell.rows):
            alive = {op.op for op in row.ops if op.alive}
            assert alive == {name for k, name in enumerate(last["ops"])
                             if last["alive"]["normal"][e][k]}
        assert sum(row.chosen for row in cell.rows) == 8
        sparsity = app.query_one("#chart-sparsity", Chart).spec
        assert sparsity.series[0].ys == [e["sparsity"] for e in epochs]
        assert "sparsity" in str(app.query_one("#chart-sparsity", Chart).render())
        assert not app.query_one(RunList).display


@pytest.mark.asyncio
async def test_keys_toggle_cell_pause_help_and_export(recorded_run, tmp_path):
    app = app_for(recorded_run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: header.status == "finished")
        cell = app.query_one(CellGraph)
        normal = cell.rows
        await pilot.press("c")
        assert cell.cell_type == "reduce" and cell.rows != normal
        await pilot.press("c")
        assert cell.cell_type == "normal"
        await pilot.press("f")
        assert not app.following and "[paused]" in header.line
        await pilot.press("f")
        assert app.following and "[paused]" not in header.line
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("s")
        await pilot.pause(0.2)
        files = sorted((tmp_path / "exports").glob("*.svg"))
        assert len(files) == 7  # the screen and six charts
        assert all(f.read_text().lstrip().startswith("<svg") for f in files)


@pytest.mark.asyncio
async def test_live_log_partial_corrupt_and_restarted(tmp_path):
    run = tmp_path / "live"
    run.mkdir()
    (run / "run.json").write_text("{}")
    lines = recorded_lines_ending_now()
    epoch_lines = [i for i, line in enumerate(lines) if '"kind":"epoch"' in line]
    app = app_for(run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: "no events.jsonl" in header.line)
        assert header.status == "waiting"
        log = run / "events.jsonl"
        upto = epoch_lines[1] + 1
        with open(log, "w") as f:  # two epochs and half of the next line
            f.write("".join(lines[:upto]) + lines[upto][:25])
        await wait_for(pilot, lambda: len(app.view.epochs) == 2)
        assert header.status == "running" and "epoch 2/" in header.line
        with open(log, "a") as f:
            f.write(lines[upto][25:] + "{corrupt\n")
        await wait_for(pilot, lambda: len(app.view.errors) == 1)
        assert "1 bad log line" in header.line
        pauses = app.query_one(PruneLog).row_count
        await pilot.press("f")
        with open(log, "a") as f:
            f.write("".join(lines[upto + 1:]))
        await wait_for(pilot, lambda: app.view.end_status == "finished")
        assert app.query_one(PruneLog).row_count == pauses, "paused view must not move"
        await pilot.press("f")
        await wait_for(pilot, lambda: header.status == "finished")
        assert app.query_one(PruneLog).row_count == sum(
            '"kind":"prune"' in line for line in lines)
        log.write_text("".join(lines[:epoch_lines[0] + 1]))  # a restarted run
        await wait_for(pilot, lambda: len(app.view.epochs) == 1 and not app.view.errors)
        assert app.view.end_status is None and app.view.sessions == 1
        assert app.query_one(PruneLog).row_count == sum(
            '"kind":"prune"' in line for line in lines[:epoch_lines[0] + 1])


@pytest.mark.asyncio
async def test_folder_of_runs_overlays_and_switches(tmp_path):
    folder = tmp_path / "runs"
    for name in ("a-1", "b-2"):
        (folder / name).mkdir(parents=True)
        (folder / name / "events.jsonl").write_text(RECORDED.read_text())
    (folder / "not-a-run").mkdir()
    app = app_for(folder, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all(v.end_status for v in app.views))
        runs = app.query_one(RunList)
        assert runs.display and runs.option_count == 2
        sparsity = app.query_one("#chart-sparsity", Chart).spec
        assert len({s.color for s in sparsity.series}) == 2
        await pilot.press("n")
        assert app.selected == 1 and runs.highlighted == 1
        await pilot.press("p")
        assert app.selected == 0
        (folder / "c-3").mkdir()
        (folder / "c-3" / "events.jsonl").write_text(RECORDED.read_text())
        await wait_for(pilot, lambda: len(app.views) == 3 and app.views[2].end_status)
        assert runs.option_count == 3
