"""The history slider: left/right step the cell through past epochs; l returns to live."""

import pytest

from tests.tui.method_logs import OPS, T0, epoch, line, run_end, run_start, write_run
from tests.tui.test_app import wait_for
from tui.app import MonitorApp
from tui.widgets.cell_graph import CellGraph
from tui.widgets.run_header import RunHeader

EPOCHS = 4


def phi_of(e: int) -> dict:
    """Epoch e's Phi, distinct per epoch: normal edge 0 gives sep3 0.5 + 0.1 e."""
    a = 0.5 + 0.1 * e
    return {"normal": [[a, 1 - a], [0.25, 0.75]], "reduce": [[0.5, 0.5], [0.5, 0.5]]}


ALIVE = {"normal": [[1, 1], [1, 1]], "reduce": [[1, 1], [1, 1]]}
# Epoch 0's genotype keeps sep3 from c_{k-2}, later ones skip from c_{k-1}.
GENOTYPES = [{"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]], "normal_concat": [2],
              "reduce": [["sep_conv_3x3", 0], ["skip_connect", 1]], "reduce_concat": [2]},
             {"normal": [["skip_connect", 0], ["skip_connect", 1]], "normal_concat": [2],
              "reduce": [["sep_conv_3x3", 0], ["skip_connect", 1]], "reduce_concat": [2]}]


def history_lines() -> list[str]:
    lines = [run_start("asap", 10)]
    for e in range(EPOCHS):
        lines.append(epoch(e, phi_of(e), ALIVE))
        lines.append(line("genotype", T0 + 10 * (e + 1), epoch=e,
                          genotype=GENOTYPES[min(e, 1)]))
    return lines + [run_end(EPOCHS - 1)]


def shown_weights(cell: CellGraph) -> dict:
    """`(source, op) -> weight` of the normal cell's edges as the widget holds them."""
    return {(row.source, op.op): op.weight for row in cell.rows for op in row.ops}


def expected_weights(e: int) -> dict:
    rows = phi_of(e)["normal"]
    return {(src, op): rows[src][k] for src in (0, 1) for k, op in enumerate(OPS)}


async def loaded(app, pilot):
    await wait_for(pilot, lambda: app.query_one(RunHeader).status == "finished")
    return app.query_one(CellGraph)


@pytest.mark.asyncio
@pytest.mark.parametrize("presses", [0, 1, 2, 3])
async def test_k_presses_of_left_show_the_kth_epoch_before_the_live_one(tmp_path, presses):
    run = write_run(tmp_path / "hist", history_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 50)) as pilot:
        cell = await loaded(app, pilot)
        for _ in range(presses):
            await pilot.press("left")
        shown = EPOCHS - 1 - presses
        assert shown_weights(cell) == expected_weights(shown)
        title = cell.title.plain
        if presses:
            assert cell.epoch == shown
            assert f"◀ epoch {shown} of 0-{EPOCHS - 1} · not live" in title
            assert "l live" in title
            assert app.query_one("#cell-scroll").border_title == (
                f"normal cell · epoch {shown}: history")
        else:
            assert cell.epoch is None and f"epoch {EPOCHS - 1} (live)" in title
        # The genotype of the epoch shown: epoch 0 keeps sep3 on edge 0, later ones skip.
        chosen = {(row.source, op.op) for row in cell.rows for op in row.ops if op.chosen}
        assert chosen == ({(0, "sep_conv_3x3"), (1, "skip_connect")} if shown == 0
                          else {(0, "skip_connect"), (1, "skip_connect")})


@pytest.mark.asyncio
async def test_home_then_right_steps_forward_and_l_returns_to_live(tmp_path):
    run = write_run(tmp_path / "hist", history_lines())
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 50)) as pilot:
        cell = await loaded(app, pilot)
        await pilot.press("right")  # live: nothing later to step to
        assert cell.epoch is None
        await pilot.press("home")
        for k in range(EPOCHS - 2):
            assert cell.epoch == k and shown_weights(cell) == expected_weights(k)
            await pilot.press("right")
        assert cell.epoch == EPOCHS - 2
        await pilot.press("right")  # onto the latest epoch: that is the live view
        assert cell.epoch is None and "(live)" in cell.title.plain
        await pilot.press("left", "left", "c")
        assert cell.cell_type == "reduce" and cell.epoch == EPOCHS - 3
        await pilot.press("g")
        assert cell.mode == "list" and cell.epoch == EPOCHS - 3
        await pilot.press("l")
        assert cell.epoch is None and app.shown_epoch is None
        assert app.query_one("#cell-scroll").border_title == "reduce cell · live"
        await pilot.press("home", "left")  # the first epoch: nothing earlier
        assert cell.epoch == 0
