"""Reading run directories: what each lacks becomes one note, never an error."""

import pytest

from asap_keras.analysis.runs import load_run, open_run
from asap_keras.errors import RunDirError
from tests.analysis import synthetic_runs as runs_lib


def test_a_complete_run_has_no_notes(runs):
    run = load_run(runs["asap-a"])
    assert run.notes == []
    assert run.genotype == runs_lib.DARTS_V2 and run.genotype_source == "genotype.json"
    assert run.label == "asap-a (asap)"


def test_corrupt_lines_missing_genotype_and_final_prune_are_noted(runs):
    run = load_run(runs["darts-old"])
    assert run.skipped_lines == [(3, run.skipped_lines[0][1])]
    assert run.notes[0].startswith("run darts-old: skipped 1 undecodable line(s) of "
                                   "events.jsonl (line 3: not JSON")
    assert run.notes[1] == ("run darts-old: no genotype.json: the cell is the last genotype "
                            "event's (epoch 1)")
    assert run.notes[2].startswith("run darts-old: no final_prune event")
    assert run.notes[2].endswith("final accuracy is the last epoch's")
    assert len(run.notes) == 3
    assert run.genotype == runs_lib.DARTS_V2 and [r.epoch for r in run.epochs] == [0, 1]


def test_a_retraining_run_and_a_run_without_epochs(runs):
    retrain = load_run(runs["retrain"])
    assert retrain.run_kind == "train"
    assert retrain.notes == ["run retrain: a retraining run (run_kind 'train'), not a search: "
                             "left out of the figures and the table"]
    empty = load_run(runs["no-epochs"])
    assert empty.notes == ["run no-epochs: no epoch events: nothing to plot or time",
                           "run no-epochs: the search ended failed (error): its numbers are "
                           "those of an unfinished search"]


def test_missing_run_files_fall_back_and_are_noted(tmp_path):
    path = runs_lib.write_run(tmp_path, "bare", runs_lib.ASAP_A[1:-1])  # no run_start/end
    (path / "run.json").unlink()
    run = load_run(path)
    assert run.method == "asap"  # from config.resolved.toml
    assert run.genotype == runs_lib.DARTS_V2 and run.genotype_source == "final_prune event"
    assert run.notes == [
        "run bare: no run.json",
        "run bare: no run_start event: method, image shape and classes are read from "
        "config.resolved.toml and run.json",
        "run bare: no genotype.json: the cell is the final_prune event's",
        "run bare: no image shape or class names in run_start: parameters and multiply-adds "
        "unknown",
    ]


def test_a_live_run_without_run_end(tmp_path):
    path = runs_lib.write_run(tmp_path, "live", runs_lib.ASAP_A[:5], runs_lib.ASAP)
    run = load_run(path)
    assert run.notes[-1] == ("run live: no run_end event (still running, or killed): its "
                             "wall time runs to its last event")
    assert run.sessions[0].duration == 25.0  # 1000 to its last event, the trace at 1025


def test_a_path_that_is_not_a_run_directory_is_named(runs, tmp_path):
    with pytest.raises(RunDirError, match="run directory not found. Received: '.*nowhere'"):
        open_run(tmp_path / "nowhere")
    folder = runs["asap-a"].parent
    with pytest.raises(RunDirError, match=r"no events.jsonl; it holds runs \(asap-a, "
                                          r"asap-resumed, darts-old, \.\.\.\): name them"):
        open_run(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match=r"not a run directory \(no events.jsonl\)\. "
                                          r"Received: '.*empty'"):
        open_run(tmp_path / "empty")
