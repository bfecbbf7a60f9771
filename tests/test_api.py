"""The Python API: asap_keras.search / train / export on arrays and datasets, what they
return, and that a saved model loads in a fresh process after `import asap_keras` alone."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import asap_keras
from asap_keras.data.arrays import fingerprint, image_set
from asap_keras.data.sources import load_digits
from asap_keras.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "configs" / "smoke.toml"
SMOKE_TRAIN = ROOT / "configs" / "smoke_train.toml"


@pytest.fixture(scope="module")
def digits_arrays():
    data = load_digits()
    keep = np.random.default_rng(0).permutation(len(data.labels))[:300]
    return data.images[keep], data.labels[keep]


@pytest.fixture(scope="module")
def found(digits_arrays, tmp_path_factory):
    runs = tmp_path_factory.mktemp("api_search")
    return asap_keras.search(SMOKE, data=digits_arrays, run__runs_dir=str(runs),
                             search__epochs=2)


def test_search_on_arrays_returns_what_the_run_directory_holds(found, digits_arrays):
    run = found.run_dir
    on_disk = json.loads((run / "genotype.json").read_text())
    assert found.genotype.to_dict() == on_disk
    assert {"loss", "accuracy", "val_loss"} <= set(found.history.history)
    assert len(found.history.history["loss"]) == 2  # search__epochs=2 was applied
    assert set(found.state["alpha"]) == {"normal", "reduce"}
    assert found.state["alive"]["normal"].shape == found.state["alpha"]["normal"].shape
    resolved = tomllib.loads((run / "config.resolved.toml").read_text())
    assert resolved["data"]["source"] == "arrays" and resolved["search"]["epochs"] == 2
    recorded = json.loads((run / "run.json").read_text())["data_fingerprint"]
    assert recorded == fingerprint(image_set(digits_arrays))


def test_resuming_an_arrays_run_needs_the_same_arrays(found, digits_arrays):
    x, y = digits_arrays
    with pytest.raises(DataError, match="differ from the ones this run used"):
        asap_keras.search(resume=found.run_dir, data=(x[::-1], y[::-1]))
    with pytest.raises(DataError, match="pass the same arrays again"):
        asap_keras.search(resume=found.run_dir)


def test_the_command_line_names_an_arrays_run_it_cannot_resume(found, capsys):
    from asap_keras.cli import main

    assert main(["search", "--resume", str(found.run_dir)]) == 2
    assert "data.source='arrays'" in capsys.readouterr().err


def test_train_and_export_then_load_in_a_fresh_process(found, digits_arrays, tmp_path):
    x, y = digits_arrays
    trained = asap_keras.train(found, SMOKE_TRAIN, data=(x[:200], y[:200]),
                               test_data=(x[200:], y[200:]), run__runs_dir=str(tmp_path),
                               train__epochs=1)
    assert trained.results["test_examples"] == 100
    assert trained.results["genotype"] == found.genotype.to_dict()
    assert len(trained.history.history["loss"]) == 1
    logits = np.asarray(trained.model(x[:3].astype("uint8"), training=False))
    assert logits.shape == (3, 10)
    out = asap_keras.export(trained, tmp_path / "export")
    code = ("import sys, numpy as np, asap_keras, keras\n"
            "model = keras.saving.load_model(sys.argv[1])\n"
            "x = np.load(sys.argv[2])\n"
            "np.save(sys.argv[3], np.asarray(model(x, training=False)))\n")
    np.save(tmp_path / "x.npy", x[:3].astype("uint8"))
    done = subprocess.run([sys.executable, "-c", code, str(out / "model.keras"),
                           str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), logits, rtol=1e-4, atol=1e-4)


def test_importing_the_package_imports_no_tensorflow():
    code = ("import sys, asap_keras, asap_keras.events\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "print(callable(asap_keras.search))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize("overrides, match", [
    ({"search__nope": 1}, r"search\.nope"),
    ({"search__epochs": -3}, r"search\.epochs"),
    ({"search____epochs": 2}, r"table__key=value"),
])
def test_bad_overrides_are_named(overrides, match, tmp_path):
    with pytest.raises(ConfigError, match=match):
        asap_keras.search(SMOKE, run__runs_dir=str(tmp_path), **overrides)
    assert not list(tmp_path.iterdir())  # refused before a run directory was made


@pytest.mark.parametrize("data, match", [
    ((np.zeros((4, 8, 8, 2)), np.zeros(4, int)), r"C in \(1, 3\)"),
    ((np.full((4, 8, 8, 1), 300.0), np.zeros(4, int)), r"\[0, 255\]"),
    ((np.zeros((4, 8, 8, 1)), np.zeros(3, int)), "one per image"),
    ((np.zeros((4, 8, 8, 1)), np.full(4, 0.5)), "integers"),
    ("digits.npz", "arrays or a tf.data.Dataset"),
])
def test_bad_arrays_are_named(data, match):
    with pytest.raises(DataError, match=match):
        image_set(data)


def test_datasets_batched_or_not_give_the_same_images():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (10, 6, 6, 3)).astype("uint8")
    y = rng.integers(0, 4, 10)
    whole = image_set((x, y))
    for ds in (tf.data.Dataset.from_tensor_slices((x, y)),
               tf.data.Dataset.from_tensor_slices((x, y)).batch(4)):
        got = image_set(ds)
        np.testing.assert_array_equal(got.images, whole.images)
        np.testing.assert_array_equal(got.labels, whole.labels)
    assert whole.class_names == ("0", "1", "2", "3")[:int(y.max()) + 1]
    grey = image_set((x[..., 0].astype("float32"), y))
    assert grey.image_shape == (6, 6, 1) and grey.images.dtype == np.uint8
