"""End to end: tiny GOLD-NAS and NAP searches through the CLI, their logs, files and resume."""

import json
import sys

import keras
import numpy as np
import pytest

from asap_keras import events
from asap_keras.analysis.runs import load_run
from asap_keras.cli import main
from asap_keras.config import load_config
from asap_keras.search import pareto
from asap_keras.search.runner import run_search
from asap_keras.space.genotype import Genotype
from asap_keras.space.primitives import edge_endpoints

# smoke.toml's data and 3 cells with GOLD's two ops and a free cell; thresholds loose enough
# that every epoch prunes, lambda0 large enough to matter, and a multiply-add floor reached
# before the epoch cap (the supernet has 256k at the start; the cap is 6 epochs).
GOLD = ["search.method='gold'", "space.ops='gold'", "space.topology='free'", "search.epochs=6",
        "search.gold.xi_max=0.3", "search.gold.n0=8", "search.gold.lambda0=0.01",
        "search.gold.flops_min=0.17"]
NAP = ["search.method='nap'", "space.topology='free'", "search.epochs=3"]
NODE = np.array([dst - 2 for _, dst in edge_endpoints(4)])


def search(root, overrides, configs_dir):
    args = ["search", str(configs_dir / "smoke.toml"), "--set", f"run.runs_dir='{root}'",
            "--verbose", "0"]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 0
    (run,) = list(root.iterdir())
    return run


def read_events(run):
    return [events.decode(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def gold_run(tmp_path_factory):
    from tests.conftest import ROOT

    return search(tmp_path_factory.mktemp("gold"), GOLD, ROOT / "configs")


@pytest.fixture(scope="module")
def nap_run(tmp_path_factory):
    from tests.conftest import ROOT

    return search(tmp_path_factory.mktemp("nap"), NAP, ROOT / "configs")


def test_gold_prunes_every_epoch_and_stops_under_flops_min(gold_run):
    log = read_events(gold_run)
    epochs = [e for e in log if e.kind == "epoch"]
    madds = [e["supernet_madds"] for e in epochs]
    assert madds == sorted(madds, reverse=True)  # never increases
    below = [m < 0.17e6 for m in madds]
    assert below.index(True) == len(epochs) - 1 < 5  # the first epoch below, before the cap
    assert log[-1]["reason"] == "flops_min" and log[-1]["status"] == "finished"
    live = [e["live_ops"] for e in epochs]
    assert live == sorted(live, reverse=True) and live[0] < epochs[0]["total_ops"]
    for e in epochs:
        assert e["relaxation"] == "sigmoid" and e["entropy"] == {}
        assert set(e["weight_entropy"]) == {"normal", "reduce"} and "lambda" in e.data
        for cell_type, rows in e["alive"].items():  # every node keeps an input
            alive = np.array(rows, bool)
            assert all(alive[NODE == j].any() for j in range(4))
    prunes = [e for e in log if e.kind == "prune"]
    assert {p["epoch"] for p in prunes} == set(range(len(epochs)))
    assert all(p["weight"] <= p["threshold"] + 1e-6 for p in prunes)  # w~ <= xi_max
    # One-level: an epoch is one pass over both halves (360 images, batch 32).
    assert log[0]["steps_per_epoch"] == 11
    assert all("arch_loss" not in e["metrics"] and "penalty" in e["metrics"] for e in epochs)


def test_gold_writes_a_free_genotype_and_its_pareto_records(gold_run):
    log = read_events(gold_run)
    saved = json.loads((gold_run / "genotype.json").read_text())
    assert saved == [e for e in log if e.kind == "genotype"][-1]["genotype"]
    assert Genotype.from_dict(saved).topology == "free"
    front = json.loads((gold_run / "pareto.json").read_text())
    assert len(front) >= 2
    assert [r["multiply_adds"] for r in front] == sorted(r["multiply_adds"] for r in front)
    accuracies = [r["val_accuracy"] for r in front]
    assert accuracies == sorted(accuracies)  # more cost buys more accuracy on the front
    records = [e for e in log if e.kind == "pareto"]
    epochs = [e for e in log if e.kind == "epoch"]
    assert [r["epoch"] for r in records] == [e["epoch"] for e in epochs]
    for record, epoch in zip(records, epochs):  # the accuracy the epoch validated
        assert record["val_accuracy"] == epoch["metrics"]["val_accuracy"]
    rebuilt = pareto.replay(log, len(epochs))
    assert [r.to_dict() for r in rebuilt] == front
    assert {r["epoch"] for r in front} <= {r["epoch"] for r in records if r["entered"]}


def test_a_resumed_gold_search_restores_lambda_and_the_front(gold_run, tmp_path, configs_dir):
    class InterruptAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (2, 3):
                raise KeyboardInterrupt

    cfg = load_config(configs_dir / "smoke.toml", [f"run.runs_dir='{tmp_path}'", *GOLD])
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, extra_callbacks=[InterruptAt()])
    (run,) = list(tmp_path.iterdir())
    _, genotype = run_search(resume=run)
    assert genotype.to_dict() == json.loads((gold_run / "genotype.json").read_text())
    assert (run / "pareto.json").read_text() == (gold_run / "pareto.json").read_text()
    last = [[e for e in read_events(r) if e.kind == "epoch"][-1] for r in (gold_run, run)]
    assert last[0]["lambda"] == pytest.approx(last[1]["lambda"])
    assert last[0]["alive"] == last[1]["alive"]
    assert [e["start_epoch"] for e in read_events(run) if e.kind == "run_start"] == [0, 2]


def test_nap_ends_with_keep_ops_per_cell_type_and_a_free_cell(nap_run):
    log = read_events(nap_run)
    epochs = [e for e in log if e.kind == "epoch"]
    for cell_type in ("normal", "reduce"):
        counts = [int(np.sum(e["alive"][cell_type])) for e in epochs]
        assert counts[0] == 56 and counts[-1] == 8  # 14 edges x 4 ops down to keep
        assert counts == sorted(counts, reverse=True)
        alive = np.array(epochs[-1]["alive"][cell_type], bool)
        assert all(alive[NODE == j].any() for j in range(4))
    assert epochs[-1]["relaxation"] == "identity" and epochs[-1]["entropy"] == {}
    assert log[-1]["reason"] == "epoch_cap"
    saved = json.loads((nap_run / "genotype.json").read_text())
    assert saved == [e for e in log if e.kind == "genotype"][-1]["genotype"]
    genotype = Genotype.from_dict(saved)
    assert genotype.topology == "free"
    for cell_type in ("normal", "reduce"):  # at most one op per edge, each node an input
        edges = genotype.edges(cell_type)
        assert 4 <= len(edges) <= 8
        assert len({(src, dst) for _, src, dst in edges}) == len(edges)
    assert not (nap_run / "pareto.json").exists()


def test_compare_reads_gold_and_nap_runs(gold_run, nap_run, tmp_path):
    from asap_keras.analysis.compare import compare_runs

    for run in (gold_run, nap_run):
        series = load_run(run)
        assert series.method in ("gold", "nap") and series.epochs
        assert all(row.entropy == {} and row.mean_weight_entropy is not None
                   for row in series.epochs)
        assert all(row.supernet_madds for row in series.epochs)
    written, _ = compare_runs([gold_run, nap_run], tmp_path / "out")
    assert (tmp_path / "out" / "fig7_cell_entropy.svg") in written
    assert "entropy of w / sum w" in (tmp_path / "out" / "fig7_cell_entropy.svg").read_text()


def test_gold_with_the_darts_topology_derives_a_darts_cell(tmp_path, configs_dir):
    run = search(tmp_path, ["search.method='gold'", "space.ops='gold'", "search.epochs=2",
                            "search.gold.xi_max=0.3"], configs_dir)
    saved = json.loads((run / "genotype.json").read_text())
    genotype = Genotype.from_dict(saved)
    assert genotype.topology == "darts" and len(genotype.normal) == 8
    log = read_events(run)
    for e in [e for e in log if e.kind == "epoch"]:  # every node keeps 2 live edges
        for rows in e["alive"].values():
            live = np.array(rows, bool).any(axis=1)
            assert all(live[NODE == j].sum() >= 2 for j in range(4))
    final = next(e for e in log if e.kind == "final_prune")
    assert final["genotype"] == saved and final["live_ops"] == 24


@pytest.mark.skipif(sys.platform != "linux", reason="logical CPU devices")
def test_gold_one_level_under_mirrored_strategy(tmp_path, configs_dir):
    from tests.search.test_search_run import mirrored_search

    log = mirrored_search(tmp_path, configs_dir, "search.method='gold'", "space.ops='gold'",
                          "space.topology='free'", "search.epochs=2", "search.gold.xi_max=0.3",
                          "search.gold.n0=20", "search.gold.lambda0=0.01")
    assert log[0]["replicas"] == 2 and log[-1]["status"] == "finished"
    epochs = [e for e in log if e.kind == "epoch"]
    assert all(e["metrics"]["loss"] > 0 for e in epochs)
    # Both replicas took the same joint step: the gates left 0.5, lambda rose (< n0 pruned).
    assert any(abs(p - 0.5) > 1e-4 for row in epochs[0]["phi"]["reduce"] for p in row if p)
    assert epochs[0]["lambda"] == pytest.approx(0.02) and epochs[1]["metrics"]["penalty"] > 0
    assert any(e.kind == "prune" for e in log)
