"""The run list of a folder of runs: each run's status, epoch, best val accuracy, last event."""

import time

import pytest

from asap_keras import events
from tests.tui.method_logs import line, write_run
from tests.tui.test_app import wait_for
from tui import state
from tui.app import MonitorApp
from tui.widgets.run_list import RunList, RunSummary, run_label, summarize


def run_lines(name, start, accuracies, end=None, cap=5):
    """A search that logs one epoch a minute from `start` with these val accuracies,
    then `run_end` with status `end` a minute later (None: still running)."""
    lines = [line("run_start", start, run=name, seed=0, start_epoch=0, versions={},
                  config={"search": {"epochs": cap}})]
    phi = {"normal": [[1.0]]}
    alive = {"normal": [[1]]}
    for e, acc in enumerate(accuracies):
        lines.append(line("epoch", start + 60 * (e + 1), epoch=e, temperature=1.0,
                          threshold=0.1, grace=False, sparsity=0.0, entropy={},
                          ops=["skip_connect"], phi=phi, alive=alive,
                          metrics={"loss": 1.0, "val_accuracy": acc}, epoch_seconds=60.0,
                          live_ops=1, total_ops=1))
    if end:
        lines.append(line("run_end", start + 60 * (len(accuracies) + 1), status=end,
                          epoch=len(accuracies) - 1, reason="x"))
    return lines


NOW = 10_000.0
# name, val accuracies, run_end status; each run starts at NOW - 1000.
RUNS = [("a-finished", [0.5, 0.7, 0.6], "finished"),
        ("b-failed", [0.4], "failed"),
        ("c-interrupted", [0.3, 0.35], "interrupted"),
        ("d-running", [0.2, 0.25, 0.45, 0.3], None),
        ("e-no-epoch", [], None)]
# By hand: the last event is run_end a minute after the last epoch (or the last epoch, or
# run_start), so 1000 - 60 * (epochs + 1) seconds before NOW, or 1000 - 60 * epochs.
# Without run_end, d's last epoch is 760 s old, over three 60 s epochs (stale), and e has
# logged no epoch for 1000 s, over the 900 s allowed before a first one (stale).
EXPECTED = [RunSummary("a-finished", "finished", 3, 5, 0.7, 1000 - 240),
            RunSummary("b-failed", "failed", 1, 5, 0.4, 1000 - 120),
            RunSummary("c-interrupted", "interrupted", 2, 5, 0.35, 1000 - 180),
            RunSummary("d-running", "stale", 4, 5, 0.45, 1000 - 240),
            RunSummary("e-no-epoch", "stale", 0, 5, None, 1000)]


def fold(name, accuracies, end, start=NOW - 1000):
    view = state.RunView(name)
    for text in run_lines(name, start, accuracies, end):
        state.apply(view, events.decode(text))
    return view


def test_each_run_is_summarized_by_hand():
    for (name, accuracies, end), expected in zip(RUNS, EXPECTED):
        assert summarize(fold(name, accuracies, end), NOW) == expected, name
    # Half a minute after its last epoch, d is running.
    view = fold(*RUNS[3])
    assert summarize(view, view.last_event + 30) == RunSummary("d-running", "running", 4, 5,
                                                               0.45, 30.0)


def test_the_label_says_the_numbers():
    label = run_label(EXPECTED[0], 0).plain
    assert label == ("■ a-finished\n  finished · epoch 3/5 · best val acc 0.700 · "
                     "last event 12m40s ago")
    assert "best val acc - · no event yet" in run_label(
        RunSummary("x", "waiting", 0, None, None, None), 1).plain
    # Too narrow for the words: the same numbers, shorter.
    short = run_label(EXPECTED[0], 0, width=44).plain.splitlines()[1]
    assert short == "  finished 3/5 · val 0.700 · 12m40s ago"


@pytest.mark.asyncio
async def test_a_folder_of_runs_lists_each_with_its_fields(tmp_path):
    now = time.time()
    folder = tmp_path / "runs"
    for name, accuracies, end in RUNS:
        write_run(folder / name, run_lines(name, now - 1000, accuracies, end))
    app = MonitorApp(folder, poll_seconds=0.05, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 50)) as pilot:
        runs = app.query_one(RunList)
        await wait_for(pilot, lambda: len(runs.summaries) == 5 and all(
            s.epochs_done == len(r[1]) for s, r in zip(runs.summaries, RUNS)))
        assert runs.display and runs.option_count == 5
        for summary, expected in zip(runs.summaries, EXPECTED):
            assert (summary.name, summary.epochs_done, summary.epoch_cap,
                    summary.best_val_accuracy) == (expected.name, expected.epochs_done,
                                                   expected.epoch_cap,
                                                   expected.best_val_accuracy)
            # Seconds pass while the test runs: at least the hand value, and not much more.
            assert expected.since_last_event <= summary.since_last_event
            assert summary.since_last_event < expected.since_last_event + 30
        statuses = [s.status for s in runs.summaries]
        assert statuses == [expected.status for expected in EXPECTED]
        prompt = str(runs.get_option_at_index(2).prompt)
        assert prompt.startswith("■ c-interrupted\n  interrupted")
        assert "2/5 · " in prompt and " 0.350 · " in prompt and "13m4" in prompt
