"""Streamed sources: an image folder or a tfds split read by tf.data as batches are drawn."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from asap_keras.child.config import TrainConfig
from asap_keras.child.runner import _datasets
from asap_keras.config import config_from_dict
from asap_keras.data.search_split import SearchData
from asap_keras.data.sources import ImageSet, load_folder, load_images
from asap_keras.data.streams import FolderStream, TfdsStream, block_shuffle
from asap_keras.errors import ConfigError
from tests.data.test_sources import write_folder


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    """120 RGB 64x64 images: 1.4 MiB decoded, over a 1 MiB budget."""
    return write_folder(tmp_path_factory.mktemp("imgs") / "big", classes=("a", "b", "c"),
                        per_class=40, size=(64, 64))


def batches(dataset):
    return [tuple(np.asarray(t) for t in tf.nest.flatten(b)) for b in dataset]


def test_a_folder_over_the_memory_budget_streams_and_holds_no_pixels(big_folder):
    streamed = load_images("folder", root=str(big_folder), stream="auto", memory_mb=1)
    assert isinstance(streamed, FolderStream)
    # What it holds is file names and labels: no image array anywhere.
    assert streamed.files.dtype.kind == "U" and streamed.count == 120
    assert not any(isinstance(v, np.ndarray) and v.dtype == np.uint8
                   for v in vars(streamed).values())
    assert isinstance(load_images("folder", root=str(big_folder), memory_mb=2), ImageSet)
    assert isinstance(load_images("folder", root=str(big_folder), stream="never",
                                  memory_mb=1), ImageSet)


@pytest.mark.parametrize("one_level, augment", [(False, True), (True, False)])
def test_a_streamed_folder_gives_the_search_the_batches_memory_would(big_folder, one_level,
                                                                     augment):
    kwargs = dict(image_size=16, limit=90, seed=4)
    memory = load_folder(str(big_folder), stream="never", **kwargs)
    streamed = load_folder(str(big_folder), stream="always", **kwargs)
    assert isinstance(streamed, FolderStream) and streamed.image_shape == (16, 16, 3)
    a, b = (SearchData(d, 8, 0.2, seed=7, augment=augment, one_level=one_level)
            for d in (memory, streamed))
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-6)
    for x, y in zip(batches(a.train_dataset(1, 3)), batches(b.train_dataset(1, 3)),
                    strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    for x, y in zip(batches(a.val_dataset()), batches(b.val_dataset()), strict=True):
        np.testing.assert_array_equal(x[0], y[0])


def test_a_streamed_folder_retrains_on_the_batches_memory_would(big_folder):
    cfg = config_from_dict({"data": {"source": "folder", "root": str(big_folder),
                                     "batch_size": 16}, "train": {"epochs": 2}}, TrainConfig)
    memory = load_folder(str(big_folder), stream="never")
    streamed = load_folder(str(big_folder), stream="always")
    train_a, test_a = _datasets(memory.take(np.arange(100)), memory.take(np.arange(100, 120)),
                                cfg, 0)
    train_b, test_b = _datasets(streamed.take(np.arange(100)),
                                streamed.take(np.arange(100, 120)), cfg, 0)
    for x, y in zip(batches(train_a), batches(train_b), strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    assert len(batches(train_a)) == 2 * (100 // 16)
    assert sum(len(b[1]) for b in batches(test_b)) == 20


def test_block_shuffle_permutes_within_blocks_and_depends_only_on_the_seed():
    ds = tf.data.Dataset.range(10).map(lambda i: (i, i * 10))
    order = [int(i) for i, _ in block_shuffle(ds, 4, tf.constant([3, 0], tf.int64))]
    again = [int(i) for i, _ in block_shuffle(ds, 4, tf.constant([3, 0], tf.int64))]
    other = [int(i) for i, _ in block_shuffle(ds, 4, tf.constant([3, 1], tf.int64))]
    assert order == again and sorted(order) == list(range(10)) and other != order
    # Blocks [0..3], [4..7], [8, 9] stay in place: at most one block is ever held.
    assert sorted(order[:4]) == [0, 1, 2, 3] and sorted(order[4:8]) == [4, 5, 6, 7]
    assert all(int(v) == 10 * int(i) for i, v in block_shuffle(ds, 4, tf.constant([1, 2])))


def test_a_tfds_stream_splits_disjointly_and_covers_its_examples():
    with tfds.testing.mock_data(num_examples=40):
        memory = load_images("tfds", name="cifar10", stream="never")
        stream = load_images("tfds", name="cifar10", stream="always", image_size=16)
        assert isinstance(stream, TfdsStream) and stream.count == 40
        assert stream.image_shape == (16, 16, 3)
        data = SearchData(stream, 4, 0.25, seed=1, shuffle_block=8)
        for (xw, _), (xa, _) in data.train_dataset(0, 1):
            assert xw.shape == xa.shape == (4, 16, 16, 3)
        # Each half's view yields its own examples, positions 0..n-1 in file order.
        half = {name: sorted(int(i) for i, _, _ in stream.take(getattr(data.splits, name))
                             .examples()) for name in ("weight", "arch", "val")}
        labels = {name: sorted(int(y) for _, _, y in stream.take(getattr(data.splits, name))
                               .examples()) for name in ("weight", "arch", "val")}
        # An epoch's weight batches are the weight half, block-shuffled with its seed.
        epoch_labels = sorted(int(y) for (_, yw), _ in data.train_dataset(0, 1) for y in yw)
        assert epoch_labels == sorted(
            int(y) for _, _, y in block_shuffle(stream.take(data.splits.weight).examples(),
                                                8, tf.constant([1 * 1_000_003 + 1, 0]))
            .take(data.steps_per_epoch * 4))
        val = sum(int(x.shape[0]) for x, _ in data.val_dataset())
    assert val == len(data.splits.val) == 10
    assert half["weight"] == list(range(15)) and half["arch"] == list(range(15))
    # The split's labels are the in-memory labels of the same indices.
    for name in ("weight", "arch", "val"):
        assert labels[name] == sorted(memory.labels[getattr(data.splits, name)].tolist())
    assert set(data.splits.weight).isdisjoint(data.splits.arch)
    assert set(data.splits.val).isdisjoint(np.concatenate([data.splits.weight,
                                                           data.splits.arch]))


def test_stream_settings_are_checked():
    with pytest.raises(ConfigError, match=r"data\.stream.*Received: stream='sometimes'"):
        config_from_dict({"data": {"stream": "sometimes"}})
    with pytest.raises(ConfigError, match=r"data\.stream .*folders and tensorflow-datasets"):
        config_from_dict({"data": {"stream": "always"}})  # digits are in memory
    with pytest.raises(ConfigError, match=r"data\.memory_mb"):
        config_from_dict({"data": {"memory_mb": 0}})


def test_the_dry_run_says_a_folder_is_streamed(big_folder, tmp_path, capsys, configs_dir):
    from asap_keras import cli

    args = ["search", str(configs_dir / "smoke.toml"), "--dry-run",
            "--set", f"run.runs_dir='{tmp_path}'", "--set", "data.source='folder'",
            "--set", f"data.root='{big_folder}'"]
    assert cli.main([*args, "--set", "data.memory_mb=1"]) == 0
    assert "# data: 120 images (64, 64, 3) (streamed from disk), 3 classes" in (
        capsys.readouterr().out)
    assert cli.main(args) == 0  # 1.4 MiB of pixels fit in the default 2048 MiB
    assert "# data: 120 images (64, 64, 3), 3 classes" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def test_the_stream_decision_counts_the_resized_pixels():
    # 100 CIFAR images: 0.29 MiB at 32x32, 1.17 MiB at 64x64; the budget is 1 MiB.
    with tfds.testing.mock_data(num_examples=100):
        native = load_images("tfds", name="cifar10", memory_mb=1)
        upsampled = load_images("tfds", name="cifar10", memory_mb=1, image_size=64)
    assert isinstance(native, ImageSet) and isinstance(upsampled, TfdsStream)
