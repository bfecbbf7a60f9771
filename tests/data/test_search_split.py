"""Search splits: disjoint, seeded, and each epoch's batches independent of the start epoch."""

import numpy as np
import pytest

from asap_keras.data.search_split import SearchData, channel_stats, split_indices
from asap_keras.data.sources import ImageSet
from asap_keras.errors import DataError


def tiny_set(n=40):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 4, 4, 1), dtype=np.uint8)
    # The label is the example's index, so a batch tells which examples it holds.
    return ImageSet(images, np.arange(n, dtype=np.int64), tuple(str(i) for i in range(n)))


@pytest.mark.parametrize("val_fraction", [0.0, 0.25])
def test_splits_are_disjoint_and_cover(val_fraction):
    s = split_indices(41, val_fraction, seed=5)
    assert not set(s.weight) & set(s.arch)
    assert abs(len(s.weight) - len(s.arch)) <= 1
    if val_fraction:
        assert not set(s.val) & (set(s.weight) | set(s.arch))
        assert len(s.val) + len(s.weight) + len(s.arch) == 41
    else:
        np.testing.assert_array_equal(s.val, s.arch)


def test_splits_depend_on_seed():
    a, b = split_indices(100, 0.1, 1), split_indices(100, 0.1, 2)
    assert not np.array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.weight, split_indices(100, 0.1, 1).weight)


def test_channel_stats_on_unit_scale():
    mean, std = channel_stats(np.full((3, 2, 2, 2), 255, np.uint8))
    np.testing.assert_allclose(mean, [1.0, 1.0])
    assert np.all(std > 0)


def epoch_labels(data, start, epochs):
    out = []
    for (xw, yw), (xa, ya) in data.train_dataset(start, epochs):
        out.append((yw.numpy().tolist(), ya.numpy().tolist()))
    return out


def test_batches_of_an_epoch_do_not_depend_on_the_start_epoch():
    data = SearchData(tiny_set(), batch_size=4, val_fraction=0.0, seed=3, augment=True)
    steps = data.steps_per_epoch
    full = epoch_labels(data, 0, 3)
    assert len(full) == 3 * steps
    resumed = epoch_labels(data, 2, 3)
    assert resumed == full[2 * steps:]
    assert full[:steps] != full[steps:2 * steps], "epochs must be reshuffled"


def test_weight_and_arch_batches_come_from_their_halves():
    data = SearchData(tiny_set(), batch_size=4, val_fraction=0.2, seed=0)
    weight, arch = set(data.splits.weight), set(data.splits.arch)
    for yw, ya in epoch_labels(data, 0, 2):
        assert set(yw) <= weight and set(ya) <= arch
    val = [y for _, batch in data.val_dataset() for y in batch.numpy()]
    assert sorted(val) == sorted(data.splits.val)


def test_too_few_examples_for_a_batch():
    with pytest.raises(DataError, match="batch_size=64"):
        SearchData(tiny_set(), batch_size=64, val_fraction=0.0, seed=0)


def test_one_level_batches_cover_the_whole_training_set_and_not_validation():
    # GOLD-NAS trains weights and alphas on one batch: both halves, no 50/50 split.
    data = SearchData(tiny_set(), batch_size=4, val_fraction=0.2, seed=0, one_level=True)
    train = set(data.splits.weight) | set(data.splits.arch)
    assert len(train) == 32 and data.steps_per_epoch == 8  # twice a half's 4 steps
    seen = []
    for x, y in data.train_dataset(0, 1):
        assert x.shape == (4, 4, 4, 1)
        seen += y.numpy().tolist()
    assert sorted(seen) == sorted(train) and not set(seen) & set(data.splits.val)
    resumed = [y.numpy().tolist() for _, y in data.train_dataset(1, 2)]
    again = [y.numpy().tolist() for _, y in data.train_dataset(0, 2)][8:]
    assert resumed == again
