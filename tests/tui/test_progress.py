"""Progress inside an epoch and time left, from hand-written logs with values worked by hand."""

import time

import pytest

from asap_keras import events
from tests.tui.method_logs import line, write_run
from tests.tui.test_app import wait_for
from tui import progress, state
from tui.app import MonitorApp
from tui.widgets.progress_bar import RunProgress, progress_text

PER = 100  # steps per epoch
EPOCHS = 5


def start(when, method="asap", **extra):
    return line("run_start", when, run="r", seed=0, start_epoch=0, versions={},
                steps_per_epoch=PER, config={"search": {"method": method, "epochs": EPOCHS}},
                **extra)


def step(when, epoch, n):
    return line("step", when, epoch=epoch, step=n, metrics={"loss": 1.0})


def epoch_event(when, e, seconds):
    phi = {"normal": [[0.5, 0.5], [0.5, 0.5]]}
    alive = {"normal": [[1, 1], [1, 1]]}
    return line("epoch", when, epoch=e, temperature=1.0, threshold=0.1, grace=False,
                sparsity=0.0, entropy={}, ops=["sep_conv_3x3", "skip_connect"], phi=phi,
                alive=alive, metrics={"loss": 1.0}, epoch_seconds=seconds, live_ops=4,
                total_ops=4)


def fold(lines):
    view = state.RunView("r")
    for text in lines:
        assert state.apply(view, events.decode(text)) is None
    return view


# Epoch 0 runs from t=1000 to its event at t=1100 (100 s). Epoch 1's steps 20 and 40 are
# logged at t=1120 and t=1136: 16 s for 20 steps, 0.8 s a step.
SEARCH = [start(1000.0), step(1030.0, 0, 20), step(1060.0, 0, 40), epoch_event(1100.0, 0, 100.0),
          step(1120.0, 1, 20), step(1136.0, 1, 40)]


def test_progress_in_an_epoch_from_its_step_events():
    p = progress.progress(fold(SEARCH), now=1140.0)
    assert (p.epoch, p.epochs_done, p.epoch_cap, p.step, p.steps_per_epoch) == (1, 1, 5, 40, 100)
    assert p.fraction == pytest.approx(0.4) and p.from_steps
    assert p.seconds_per_step == pytest.approx(0.8)
    # 60 steps at 0.8 s (48 s), plus what epoch 0 spent beyond its 100 steps at that rate
    # (100 s - 80 s = 20 s), less the 4 s since the step event at 1136: 64 s.
    assert p.epoch_left == pytest.approx(64.0)
    # Then epochs 2, 3 and 4 at the recent epoch duration of 100 s.
    assert p.run_left == pytest.approx(364.0)
    assert p.upper_bound and not p.ended


def test_one_step_event_times_the_steps_from_the_epoch_start():
    view = fold(SEARCH[:5])  # epoch 1's step 20 at t=1120, 20 s after epoch 0's event
    p = progress.progress(view, now=1130.0)
    assert p.seconds_per_step == pytest.approx(1.0) and p.fraction == pytest.approx(0.2)
    # 80 steps at 1 s; epoch 0 spent nothing beyond its steps at 1 s a step; 10 s since.
    assert p.epoch_left == pytest.approx(70.0)
    assert p.run_left == pytest.approx(70.0 + 3 * 100.0)


def test_the_time_left_counts_down_between_events_and_stops_at_zero():
    view = fold(SEARCH)
    assert progress.progress(view, 1150.0).epoch_left == pytest.approx(54.0)
    assert progress.progress(view, 1500.0).epoch_left == 0.0


def test_a_new_epoch_without_step_events_is_estimated_from_the_recent_epochs():
    view = fold(SEARCH + [epoch_event(1200.0, 1, 80.0)])
    p = progress.progress(view, now=1230.0)
    # Recent epochs: 100 s and 80 s, 90 s on average; 30 s into epoch 2.
    assert (p.epoch, p.step, p.from_steps) == (2, None, False)
    assert p.fraction == pytest.approx(30 / 90)
    assert p.epoch_left == pytest.approx(60.0)
    assert p.run_left == pytest.approx(60.0 + 2 * 90.0)


def test_a_retraining_run_from_its_train_epochs():
    lines = [line("run_start", 0.0, run="t", seed=0, start_epoch=0, versions={},
                  run_kind="train", config={"train": {"epochs": 4}})]
    for e, (when, seconds) in enumerate([(60.0, 50.0), (130.0, 70.0)]):
        lines.append(line("train_epoch", when, epoch=e, metrics={"loss": 1.0},
                          epoch_seconds=seconds, learning_rate=0.1, drop_path=0.0))
    view = fold(lines)
    p = progress.progress(view, now=150.0)
    # 20 s into epoch 2, recent epochs 60 s on average: a third done, 40 s left, then one
    # more epoch of 60 s; a retraining run does not stop early.
    assert (p.epoch, p.epochs_done, p.epoch_cap, p.from_steps) == (2, 2, 4, False)
    assert p.fraction == pytest.approx(1 / 3)
    assert (p.epoch_left, p.run_left) == (pytest.approx(40.0), pytest.approx(100.0))
    assert not p.upper_bound
    text = progress_text(view, 150.0).plain
    assert "training" in text and "~33%" in text and "epoch left ~40s" in text
    assert "left ~1m40s" in text and "upper bound" not in text


@pytest.mark.parametrize("method, upper", [("asap", True), ("gold", True), ("darts", False),
                                           ("nap", False)])
def test_only_a_search_that_may_stop_early_calls_its_time_left_an_upper_bound(method, upper):
    lines = [start(1000.0, method)] + SEARCH[1:]
    assert progress.progress(fold(lines), 1140.0).upper_bound is upper
    text = progress_text(fold(lines), 1140.0).plain
    assert ("left ≤ 6m04s (an upper bound" in text) is upper


def test_the_progress_lines_say_the_numbers():
    text = progress_text(fold(SEARCH), 1140.0, width=120).plain
    first, second = text.splitlines()
    assert first.startswith("epoch 2/5") and "40% · step 40/100" in first
    assert "epoch left 1m04s (0.80 s/step)" in first
    assert "1/5 epochs done" in second and "once every edge is discrete" in second
    # 120 cells: bars of 24, the epoch's 40% full, the run's 1/5.
    assert first.count(progress.BAR_FULL) == round(0.4 * 24)
    assert second.count(progress.BAR_FULL) == round(0.2 * 24)


def test_an_ended_run_and_a_log_before_any_event():
    view = fold(SEARCH + [line("run_end", 1200.0, status="interrupted", epoch=1,
                               reason="KeyboardInterrupt")])
    p = progress.progress(view, 1300.0)
    assert p.ended and p.epoch_left is None and p.run_left is None
    assert "interrupted after 1/5 epochs: KeyboardInterrupt" in progress_text(view, 1300).plain
    assert progress.progress(state.RunView("empty"), 0.0) is None


def test_a_log_without_steps_per_epoch_or_step_events_still_shows():
    view = fold([line("run_start", 0.0, run="old", seed=0, start_epoch=0, versions={},
                      config={"search": {"epochs": 3}}), step(5.0, 0, 10)])
    p = progress.progress(view, 6.0)
    assert p.step == 10 and p.fraction is None and p.epoch_left is None
    assert "step 10 (steps per epoch not in the log)" in progress_text(view, 6.0).plain
    fresh = fold([line("run_start", 0.0, run="old", seed=0, start_epoch=0, versions={},
                       config={"search": {"epochs": 3}})])
    assert "waiting for the epoch's first step event" in progress_text(fresh, 1.0).plain


@pytest.mark.asyncio
async def test_the_bar_moves_as_step_events_arrive(tmp_path):
    now = time.time()
    lines = [start(now - 40), epoch_event(now - 30, 0, 10.0), step(now - 20, 1, 20)]
    run = write_run(tmp_path / "live", lines)
    app = MonitorApp(run, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 40)) as pilot:
        bar = app.query_one(RunProgress)
        await wait_for(pilot, lambda: "step 20/100" in bar.line)
        assert "20% · step 20/100" in bar.line
        with open(run / "events.jsonl", "a") as f:
            f.write(step(now - 10, 1, 60) + "\n")
        await wait_for(pilot, lambda: "step 60/100" in bar.line)
        assert "60% · step 60/100" in bar.line and "(0.25 s/step)" in bar.line
