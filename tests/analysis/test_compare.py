"""`asap-keras compare` end to end: files, notes, errors, a real log, and no TensorFlow."""

import json
import shutil
import subprocess
import sys

import pytest

from asap_keras import events
from asap_keras.cli import main
from tests.tui.conftest import RECORDED

WRITTEN = ["compare.json", "fig3_duration_sparsity.png", "fig3_duration_sparsity.svg",
           "fig6_validation_accuracy.png", "fig6_validation_accuracy.svg",
           "fig7_cell_entropy.png", "fig7_cell_entropy.svg", "pareto_accuracy_madds.png",
           "pareto_accuracy_madds.svg", "report.html", "report.md"]


def test_compare_writes_figures_and_reports_and_notes_each_gap(runs, tmp_path, capsys):
    out = tmp_path / "new" / "report"
    assert main(["compare", *map(str, runs.values()), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == WRITTEN
    assert sorted(captured.out.split()) == sorted(str(out / name) for name in WRITTEN)
    notes = captured.err.splitlines()
    assert all(line.startswith("asap-keras: run ") for line in notes)
    assert [line.split(":")[1].strip() for line in notes] == [
        "run darts-old", "run darts-old", "run darts-old", "run retrain", "run no-epochs",
        "run no-epochs", "run no-epochs"]
    assert notes[-1].endswith("its cell is not in the accuracy vs multiply-adds figure: no "
                              "final validation accuracy")
    table = [line for line in (out / "report.md").read_text().splitlines()
             if line.startswith("| ") and not line.startswith("| run |")]
    assert [line.split(" | ")[0][2:] for line in table] == [
        "asap-a", "asap-resumed", "darts-old", "no-epochs"]
    data = json.loads((out / "compare.json").read_text())
    assert [r["run"] for r in data["runs"]] == ["asap-a", "asap-resumed", "darts-old",
                                                "no-epochs"]
    assert data["left_out"] == ["retrain"]
    assert data["notes"] == [line[len("asap-keras: "):] for line in notes]
    assert "no final_prune event" in (out / "report.html").read_text()


def test_a_path_that_is_no_run_is_a_one_line_error_and_nothing_is_written(runs, tmp_path,
                                                                             capsys):
    out = tmp_path / "out"
    code = main(["compare", str(runs["asap-a"]), str(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"asap-keras: error: not a run directory (no events.jsonl). "
                   f"Received: {str(tmp_path)!r}\n")
    assert not out.exists()


def test_the_same_run_twice_is_compared_once(runs, tmp_path, capsys):
    run = str(runs["asap-a"])
    assert main(["compare", run, run + "/", "--out", str(tmp_path / "out")]) == 0
    assert "run asap-a: given twice; compared once" in capsys.readouterr().err


@pytest.fixture
def recorded_search(tmp_path):
    """The recorded real search log in a run directory, with its last genotype as the cell."""
    run = tmp_path / "smoke-run"
    run.mkdir()
    shutil.copy(RECORDED, run / "events.jsonl")
    (run / "run.json").write_text("{}")
    logged = [events.decode(line) for line in RECORDED.read_text().splitlines()]
    cell = [e["genotype"] for e in logged if e.kind == "genotype"][-1]
    (run / "genotype.json").write_text(json.dumps(cell))
    return run, logged


def test_a_real_search_log(recorded_search, tmp_path, capsys):
    run, logged = recorded_search
    out = tmp_path / "out"
    assert main(["compare", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "asap-keras: run smoke-run: no final_prune event (logs from before it was added, and "
        "searches that did not finish, lack it): final accuracy is the last epoch's"]
    (row,) = json.loads((out / "compare.json").read_text())["runs"]
    # The log's own numbers: epoch seconds minus that epoch's trace seconds, over epoch 1's
    # (the first without grace).
    epochs = [e for e in logged if e.kind == "epoch"]
    traced = {}
    for e in logged:
        if e.kind == "trace":
            traced[e["epoch"]] = traced.get(e["epoch"], 0.0) + e["seconds"]
    net = [e["epoch_seconds"] - traced.get(e["epoch"], 0.0) for e in epochs]
    first_arch = [e["grace"] for e in epochs].index(False)
    assert [s["relative_duration"] for s in row["epochs_series"]] == pytest.approx(
        [n / net[first_arch] for n in net])
    assert row["search_seconds"] == logged[-1]["seconds"]
    first_discrete = next(e for e in epochs if e.get("discrete"))
    assert row["time_to_discrete_seconds"] == pytest.approx(first_discrete.time - logged[0].time)
    assert row["final_val_accuracy"] == epochs[-1]["metrics"]["val_accuracy"]
    assert (row["live_ops"], row["total_ops"]) == (epochs[-1]["live_ops"],
                                                   epochs[-1]["total_ops"])


SCRIPT = """
import json, sys
from asap_keras.cli import main
code = main(["compare", sys.argv[1], "--out", sys.argv[2]])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_compare_imports_neither_tensorflow_nor_keras(recorded_search, tmp_path):
    run, _ = recorded_search
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(run), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
    assert (tmp_path / "out" / "report.html").is_file()
