"""A free cell from a search's pareto.json, retrained through the CLI and exported."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.child.cost import network_cost
from asap_keras.child.genotypes import BUILT_IN
from asap_keras.cli import main
from asap_keras.export import export_run
from asap_keras.space.genotype import Genotype
from tests.child.test_free_cell import DEAD_CELL_1
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def pareto(tmp_path_factory):
    """A search run's pareto.json: entry 0 a DARTS cell, entry 1 a free one."""
    search = tmp_path_factory.mktemp("search-run")
    path = search / "pareto.json"
    path.write_text(json.dumps([
        {"genotype": BUILT_IN["darts_v2"].to_dict(), "multiply_adds": 9000,
         "val_accuracy": 0.4, "epoch": 2},
        {"genotype": DEAD_CELL_1.to_dict(), "multiply_adds": 4000, "val_accuracy": 0.3,
         "epoch": 3}]))
    return path


@pytest.fixture(scope="module")
def free_run(pareto, tmp_path_factory):
    runs = tmp_path_factory.mktemp("free_runs")
    code = main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype", f"{pareto}#1",
                 "--set", f"run.runs_dir='{runs}'", "--set", "train.epochs=1",
                 "--verbose", "0"])
    assert code == 0
    (run,) = list(runs.iterdir())
    return run


def test_the_run_trains_entry_1_of_the_pareto_list(free_run, pareto):
    assert Genotype.from_json((free_run / "genotype.json").read_text()) == DEAD_CELL_1
    info = json.loads((free_run / "run.json").read_text())
    assert info["genotype"] == DEAD_CELL_1.to_dict()
    assert info["genotype_source"] == f"{pareto}#1"
    results = json.loads((free_run / "results.json").read_text())
    # smoke_train: 10 digit classes on 8x8x1 images, C=4, 3 cells (cell 1 unread, unbuilt).
    cost = network_cost(DEAD_CELL_1, 10, (8, 8, 1), channels=4, layers=3)
    assert round(results["parameters_m"] * 1e6) == cost["parameters"]
    assert results["multiply_adds_m"] == pytest.approx(cost["multiply_adds"] / 1e6)
    assert 0 <= results["test_error"] <= 1


def test_the_free_run_exports_with_its_genotype_as_is(free_run, tmp_path):
    out = export_run(free_run, tmp_path / "export")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["genotype"] == DEAD_CELL_1.to_dict()
    model = keras.saving.load_model(out / "model.keras")
    assert [c is None for c in model.cells] == [False, True, False]
    images = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 1)).astype("float32")
    reloaded = tf.saved_model.load(str(out / "saved_model"))
    np.testing.assert_allclose(reloaded.serve(images).numpy(), model(images).numpy(),
                               rtol=1e-4, atol=1e-4)


def test_a_run_dir_pareto_spec_that_is_out_of_range_is_one_line(pareto, capsys):
    assert main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype",
                 f"{pareto}#2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{pareto}#2" in err and "2 entries" in err
