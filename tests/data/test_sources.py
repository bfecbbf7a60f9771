"""Image sources: digits, tensorflow-datasets (mocked, offline) and image folders."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from asap_keras.data.sources import load_digits, load_folder, load_images, load_tfds
from asap_keras.errors import DataError


def write_folder(root, classes=("cat", "dog"), per_class=3, size=(6, 5), channels=3):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
            png = tf.io.encode_png(image).numpy()
            (root / name / f"{i}.png").write_bytes(png)
    (root / classes[0] / "notes.txt").write_text("not an image")
    return root


def test_digits_is_uint8_grayscale_with_ten_classes():
    data = load_digits()
    assert data.images.dtype == np.uint8
    assert data.image_shape == (8, 8, 1)
    assert data.num_classes == 10
    assert data.images.max() == 255 and data.images.min() == 0
    assert len(data.labels) == len(data.images) == 1797


@pytest.mark.parametrize("name, shape", [("cifar10", (32, 32, 3)),
                                         ("fashion_mnist", (28, 28, 1))])
def test_tfds_path_reads_what_tfds_returns(name, shape):
    with tfds.testing.mock_data(num_examples=12):
        data = load_tfds(name)
    assert data.images.shape == (12, *shape)
    assert data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    assert set(data.labels) <= set(range(data.num_classes))


def test_tfds_limit_and_resize_apply():
    with tfds.testing.mock_data(num_examples=20):
        data = load_images("tfds", name="cifar10", image_size=16, limit=7, seed=3)
    assert data.images.shape == (7, 16, 16, 3)


def test_tfds_missing_dataset_fails_fast_naming_it(tmp_path):
    with pytest.raises(DataError, match=r"'cifar10'.*not available offline") as err:
        load_tfds("cifar10", data_dir=str(tmp_path))
    assert str(tmp_path) in str(err.value)
    assert not list(tmp_path.rglob("*.tfrecord*"))


def test_folder_classes_are_sorted_folder_names(tmp_path):
    root = write_folder(tmp_path / "imgs", classes=("zebra", "ant"))
    data = load_folder(str(root))
    assert data.class_names == ("ant", "zebra")
    assert data.images.shape == (6, 6, 5, 3)
    assert list(data.labels) == [0, 0, 0, 1, 1, 1]


def test_folder_resize_and_limit(tmp_path):
    root = write_folder(tmp_path / "imgs", per_class=5)
    data = load_folder(str(root), image_size=4, limit=4, seed=1)
    assert data.images.shape == (4, 4, 4, 3)
    again = load_folder(str(root), image_size=4, limit=4, seed=1)
    np.testing.assert_array_equal(data.images, again.images)


def test_folder_mixed_sizes_need_image_size(tmp_path):
    root = write_folder(tmp_path / "imgs")
    tf.io.write_file(str(root / "dog" / "big.png"),
                     tf.io.encode_png(tf.zeros((9, 9, 3), tf.uint8)))
    with pytest.raises(DataError, match="image_size"):
        load_folder(str(root))
    assert load_folder(str(root), image_size=5).images.shape == (7, 5, 5, 3)


@pytest.mark.parametrize("layout", ["missing", "no_classes", "no_images"])
def test_folder_errors_name_the_root(tmp_path, layout):
    root = tmp_path / "imgs"
    if layout != "missing":
        root.mkdir()
    if layout == "no_images":
        (root / "cat").mkdir()
        (root / "cat" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="data.root") as err:
        load_folder(str(root))
    assert str(root) in str(err.value)


def test_unknown_source_is_named():
    with pytest.raises(DataError, match="source='kaggle'"):
        load_images("kaggle")


def test_tfds_train_and_test_splits_are_resized_alike():
    from asap_keras.child.runner import load_train_test
    from asap_keras.config import DataConfig

    with tfds.testing.mock_data(num_examples=6):
        train, test = load_train_test(DataConfig(source="tfds", name="cifar10", image_size=16),
                                      seed=0)
    assert train.image_shape == test.image_shape == (16, 16, 3)


def test_a_separate_test_folder_is_the_retraining_test_split(tmp_path):
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.runner import load_train_test
    from asap_keras.config import config_from_dict
    from asap_keras.errors import ConfigError

    train_root = write_folder(tmp_path / "train", per_class=4, size=(6, 6))
    test_root = write_folder(tmp_path / "test", per_class=2, size=(6, 6))
    data = {"source": "folder", "root": str(train_root), "test_root": str(test_root)}
    cfg = config_from_dict({"data": data}, TrainConfig)
    train, test = load_train_test(cfg.data, seed=0)
    assert len(train.labels) == 8 and len(test.labels) == 4  # nothing held out of train
    assert train.class_names == test.class_names == ("cat", "dog")
    other = write_folder(tmp_path / "other", classes=("cat", "emu"), per_class=1, size=(6, 6))
    cfg = config_from_dict({"data": {**data, "test_root": str(other)}}, TrainConfig)
    with pytest.raises(DataError, match=r"other classes.*Received: test_root="):
        load_train_test(cfg.data, seed=0)
    # A search never reads test images, and only image folders have a test folder.
    with pytest.raises(ConfigError, match=r"data\.test_root is read by `asap-keras train`"):
        config_from_dict({"data": data})
    with pytest.raises(ConfigError, match=r"data\.test_root .*needs data\.source='folder'"):
        config_from_dict({"data": {"source": "digits", "test_root": "x"}}, TrainConfig)


def test_tfds_split_slices_are_passed_through(monkeypatch):
    # mock_data ignores slicing, so the split tfds is asked for is checked instead.
    asked = []
    real = tfds.load

    def load(name, split=None, **kwargs):
        asked.append(split)
        return real(name, split=split, **kwargs)

    monkeypatch.setattr(tfds, "load", load)
    with tfds.testing.mock_data(num_examples=20):
        data = load_images("tfds", name="cifar10", split="train[:50%]")
    assert asked == ["train[:50%]"] and len(data.labels) == 20


def test_tfds_download_offline_fails_fast_naming_the_host(tmp_path, monkeypatch):
    import time

    from asap_keras.data import sources

    probed = []
    monkeypatch.setattr(sources, "reachable", lambda url, timeout=5.0: probed.append(url))
    monkeypatch.setattr(tfds, "load", _refuse_network(tfds.load))
    started = time.monotonic()
    with pytest.raises(DataError, match=r"'cifar10'.*no connection to https://www\.cs\."
                                        r"toronto\.edu") as err:
        load_tfds("cifar10", data_dir=str(tmp_path), download=True)
    assert time.monotonic() - started < 30
    assert probed == ["https://www.cs.toronto.edu/~kriz/cifar.html"]
    assert "data.download" in str(err.value)
    assert not list(tmp_path.rglob("*.tfrecord*"))


def test_tfds_download_when_reachable_asks_tfds_to_download(tmp_path, monkeypatch):
    from asap_keras.data import sources

    calls = []
    real = tfds.load

    def fake_load(name, download=False, **kwargs):
        calls.append(download)
        if not download:
            return real(name, download=False, **kwargs)  # not prepared: raises
        with tfds.testing.mock_data(num_examples=6):  # stands in for the real download
            return real(name, download=True, **kwargs)

    monkeypatch.setattr(sources, "reachable", lambda url, timeout=5.0: True)
    monkeypatch.setattr(tfds, "load", fake_load)
    data = load_tfds("cifar10", data_dir=str(tmp_path), download=True)
    assert calls == [False, True] and len(data.labels) == 6


def _refuse_network(real):
    def load(name, download=False, **kwargs):
        assert not download, "tfds.load was asked to download"
        return real(name, download=False, **kwargs)
    return load
