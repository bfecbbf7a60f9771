"""Retrain through the CLI, then export: SavedModel outputs, TFSMLayer training, refusals."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras import events
from asap_keras.cli import main
from asap_keras.export import export_run
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("train_runs")
    code = main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype", "darts_v2",
                 "--set", f"run.runs_dir='{runs}'", "--verbose", "0"])
    assert code == 0
    (run,) = list(runs.iterdir())
    return run


def test_training_run_directory_and_results(trained_run):
    names = {p.name for p in trained_run.iterdir()}
    assert {"config.resolved.toml", "run.json", "events.jsonl", "genotype.json",
            "model.keras", "results.json"} <= names
    results = json.loads((trained_run / "results.json").read_text())
    assert 0 < results["parameters_m"] < 1 and results["multiply_adds_m"] > 0
    assert 0 <= results["test_error"] <= 1
    assert results["test_error"] == pytest.approx(1 - results["test_accuracy"])
    assert len(results["epoch_seconds"]) == 2
    log = [events.decode(line) for line in (trained_run / "events.jsonl").read_text()
           .splitlines()]
    assert [e.kind for e in log] == ["run_start", "train_epoch", "train_epoch", "run_end"]
    epochs = [e for e in log if e.kind == "train_epoch"]
    assert [e["drop_path"] for e in epochs] == pytest.approx([0.0, 0.1])
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[0]["metrics"])
    assert log[-1]["status"] == "finished"


def test_export_round_trip_and_retraining_through_tfsmlayer(trained_run, tmp_path):
    out = export_run(trained_run, tmp_path / "export")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["input_shape"] == [8, 8, 1] and len(meta["class_names"]) == 10
    assert meta["genotype"]["normal"][0] == ["sep_conv_3x3", 0]
    model = keras.saving.load_model(out / "model.keras")
    images = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 1)).astype("float32")
    reloaded = tf.saved_model.load(str(out / "saved_model"))
    np.testing.assert_allclose(reloaded.serve(images).numpy(), model(images).numpy(),
                               rtol=1e-4, atol=1e-4)
    layer = keras.layers.TFSMLayer(str(out / "saved_model"), call_endpoint="serve",
                                   call_training_endpoint="train", trainable=True)
    inputs = keras.Input((8, 8, 1))
    wrapped = keras.Model(inputs, layer(inputs))
    # Plain SGD: Keras 3.15 TFSMLayer keeps ":0" in the wrapped variable names, which optimizers
    # with slot variables (momentum, Adam) refuse as scope names (an upstream bug).
    wrapped.compile(keras.optimizers.SGD(0.05),
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    labels = np.arange(6) % 10
    history = wrapped.fit(images, labels, epochs=6, batch_size=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_export_refusals(trained_run, tmp_path, capsys):
    search_like = tmp_path / "search-run"
    search_like.mkdir()
    (search_like / "config.resolved.toml").write_text("")
    (search_like / "run.json").write_text(json.dumps({"kind": "search"}))
    assert main(["export", str(search_like), "--out", str(tmp_path / "x")]) == 2
    assert "supernet is not a model to export" in capsys.readouterr().err
    assert main(["export", str(trained_run), "--out", str(tmp_path / "y"),
                 "--input-shape", "8,8,3"]) == 2
    assert "input_shape=(8, 8, 3)" in capsys.readouterr().err
    assert main(["export", str(trained_run), "--out", str(tmp_path / "y"),
                 "--input-shape", "2,2,1"]) == 2
    assert "at least 4" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert main(["export", str(trained_run), "--out", str(busy)]) == 2
    assert (busy / "keep.txt").read_text() == "mine"


def test_corrupt_model_and_bad_genotype_are_one_line_errors(trained_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_run, copy)
    (copy / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    assert main(["export", str(copy), "--out", str(tmp_path / "z")]) == 2
    err = capsys.readouterr().err
    assert "cannot load the trained model" in err and "model.keras" in err
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps({"normal": [["conv_9x9", 0]] * 8, "normal_concat": [2],
                               "reduce": [["skip_connect", 0]] * 8, "reduce_concat": [2]}))
    assert main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype", str(bad)]) == 2
    assert "op='conv_9x9'" in capsys.readouterr().err
    assert main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype", "asap",
                 "--set", "model.layers=2"]) == 2
    assert "model.layers" in capsys.readouterr().err
