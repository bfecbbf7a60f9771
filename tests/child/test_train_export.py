"""Retrain through the CLI, then export: SavedModel outputs, TFSMLayer training, refusals."""

import json
import re
import shutil

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
    # Images as decoded from files are uint8: the .keras model and serve_uint8 take them.
    pixels = np.round(images).astype("uint8")
    as_float = model(pixels.astype("float32")).numpy()
    np.testing.assert_allclose(model(pixels).numpy(), as_float, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reloaded.serve_uint8(pixels).numpy(), as_float, rtol=1e-4,
                               atol=1e-4)
    uint8_layer = keras.layers.TFSMLayer(str(out / "saved_model"), call_endpoint="serve_uint8")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(uint8_layer(pixels)), as_float,
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
    served = wrapped(images, training=False).numpy()
    trainable = {v.path: v.numpy().copy() for v in layer.trainable_weights}
    moving = {v.path: v.numpy().copy() for v in layer.non_trainable_weights
              if "drop_path_rate" not in v.path}  # the BatchNorm statistics
    assert len(trainable) > 20 and len(moving) > 20
    history = wrapped.fit(images, labels, epochs=3, batch_size=6, verbose=0)
    # Every weight the `train` endpoint uses took SGD steps (a frozen layer would keep them),
    # and its BatchNorm ran in training mode (the moving statistics moved).
    assert [v.path for v in layer.trainable_weights
            if np.array_equal(trainable[v.path], v.numpy())] == []
    assert [v.path for v in layer.non_trainable_weights
            if v.path in moving and np.array_equal(moving[v.path], v.numpy())] == []
    assert np.isfinite(history.history["loss"]).all()
    after = wrapped(images, training=False).numpy()
    assert np.isfinite(after).all() and not np.allclose(after, served)


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


class InterruptAt(keras.callbacks.Callback):
    """Simulates a kill in the middle of an epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_resume_after_a_kill_mid_epoch_matches_the_straight_run(tmp_path, monkeypatch):
    from asap_keras.child import runner
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve
    from asap_keras.config import load_config

    # No random augmentation or drop-path: the resumed weights must equal the straight run's.
    overrides = ["train.epochs=3", "model.drop_path=0.0", "train.augment.crop_flip=false",
                 "train.augment.cutout=0", "train.augment.randaugment=false"]
    straight_cfg = load_config(ROOT / "configs/smoke_train.toml", overrides + [
        f"run.runs_dir='{tmp_path / 'straight'}'"], schema=TrainConfig)
    straight, straight_results = runner.run_training(straight_cfg, resolve("darts_v2"),
                                                     "darts_v2", verbose=0)
    cfg = load_config(ROOT / "configs/smoke_train.toml", overrides + [
        f"run.runs_dir='{tmp_path / 'cut'}'"], schema=TrainConfig)
    original_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: original_fit(
        self, *a, **{**k, "callbacks": [*k["callbacks"], InterruptAt(epoch=1, batch=2)]}))
    with pytest.raises(KeyboardInterrupt):
        runner.run_training(cfg, resolve("darts_v2"), "darts_v2", verbose=0)
    monkeypatch.undo()
    (cut,) = list((tmp_path / "cut").iterdir())
    assert not (cut / "results.json").exists()

    assert main(["train", "--resume", str(cut), "--verbose", "0"]) == 0
    log = [events.decode(line) for line in (cut / "events.jsonl").read_text().splitlines()]
    assert [e["start_epoch"] for e in log if e.kind == "run_start"] == [0, 1]
    assert [e["status"] for e in log if e.kind == "run_end"] == ["interrupted", "finished"]
    # Each run_end names the last epoch that finished: 0 when killed in epoch 1, then 2.
    assert [e["epoch"] for e in log if e.kind == "run_end"] == [0, 2]
    assert [e["epoch"] for e in log if e.kind == "train_epoch"] == [0, 1, 2]
    results = json.loads((cut / "results.json").read_text())
    assert results["resumed_at_epochs"] == [1] and len(results["epoch_seconds"]) == 3
    assert results["test_accuracy"] == pytest.approx(straight_results["test_accuracy"])
    resumed_model = keras.saving.load_model(cut / "model.keras")
    straight_model = keras.saving.load_model(straight / "model.keras")
    for a, b in zip(straight_model.weights, resumed_model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_resume_refusals(trained_run, tmp_path, capsys):
    assert main(["train", "--resume", str(trained_run), "--genotype", "asap"]) == 2
    assert "drop CONFIG, --genotype and --set" in capsys.readouterr().err
    assert main(["train", str(ROOT / "configs/smoke_train.toml")]) == 2
    assert "needs CONFIG and --genotype" in capsys.readouterr().err
    search_run = tmp_path / "search-run"
    search_run.mkdir()
    (search_run / "config.resolved.toml").write_text("")
    (search_run / "run.json").write_text('{"kind": "search"}')
    assert main(["train", "--resume", str(search_run)]) == 2
    assert "is a search run" in capsys.readouterr().err
    # A corrupt model.keras is named; nothing in the run directory changes.
    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    model_file = broken / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    before = {p.name: p.read_bytes() for p in broken.iterdir() if p.is_file()}
    assert main(["train", "--resume", str(broken), "--verbose", "0"]) == 2
    assert "model.keras" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in broken.iterdir() if p.is_file()} == before


def test_a_diverged_training_fails_in_its_first_nan_step_and_saves_nothing(tmp_path, capsys):
    code = main(["train", str(ROOT / "configs/smoke_train.toml"), "--genotype", "darts_v2",
                 "--set", f"run.runs_dir='{tmp_path}'", "--set", "train.lr=1e8",
                 "--set", "train.grad_clip=0", "--verbose", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(r"diverged: loss became (nan|inf) at epoch 0", err)
    (run,) = list(tmp_path.iterdir())
    log = [events.decode(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert log[-1]["status"] == "failed" and "epoch 0, step" in log[-1]["reason"]
    assert log[-1]["epoch"] == -1
    assert not (run / "model.keras").exists() and not (run / "results.json").exists()


def test_tensorboard_of_a_training_run(trained_run):
    from tests.tensorboard_events import read_summaries

    board = trained_run / "tensorboard"
    log = [events.decode(line) for line in (trained_run / "events.jsonl").read_text()
           .splitlines()]
    epochs = [e for e in log if e.kind == "train_epoch"]
    assert ("epoch_loss", "scalars") in read_summaries(board / "train")
    assert ("epoch_accuracy", "scalars") in read_summaries(board / "validation")
    schedule = read_summaries(board / "schedule")
    assert [schedule[("drop_path", "scalars")][e["epoch"]] for e in epochs] == pytest.approx(
        [e["drop_path"] for e in epochs])
    assert len(schedule[("learning_rate", "scalars")]) == len(epochs)
