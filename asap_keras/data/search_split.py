"""The search's data: weight, architecture and validation splits as epoch-seeded tf.data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from asap_keras.data.streams import block_shuffle
from asap_keras.errors import DataError


@dataclass(frozen=True)
class SplitIndices:
    """Disjoint example indices of the three splits."""

    weight: np.ndarray
    arch: np.ndarray
    val: np.ndarray


def split_indices(n: int, val_fraction: float, seed: int) -> SplitIndices:
    """Seeded split: `val_fraction` held out, the rest halved into weight and arch parts.

    With `val_fraction == 0` the architecture half doubles as the validation set (as DARTS
    reports its search accuracy).
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    val, rest = order[:n_val], order[n_val:]
    half = len(rest) // 2
    weight, arch = np.sort(rest[:half]), np.sort(rest[half:])
    return SplitIndices(weight, arch, np.sort(val) if n_val else arch)


STATS_CHUNK = 1024  # images converted to float64 at a time by `channel_stats`


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of uint8 images, on the [0, 1] scale.

    Sums are taken in float64 over chunks of images: converting the whole set at once took
    8 bytes per pixel several times over (peak 22 GB for 50,000 96x96 images).
    """
    channels = images.shape[-1]
    total, squares = np.zeros(channels), np.zeros(channels)
    for start in range(0, len(images), STATS_CHUNK):
        x = images[start:start + STATS_CHUNK].astype(np.float64).reshape(-1, channels) / 255.0
        total += x.sum(axis=0)
        squares += np.square(x).sum(axis=0)
    n = images.size // channels
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - np.square(mean), 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


class SearchData:
    """Builds the training stream and the validation stream.

    Two-level (bilevel) search gets zipped `(weight batch, arch batch)` pairs from the two
    halves; one-level search (GOLD-NAS) gets `(x, y)` batches of the whole training set
    (both halves: nothing is held back for alpha), so an epoch has about twice the steps.
    The order of epoch `e` depends only on `(seed, e)`, so a search resumed at epoch `e`
    sees the same batches as an uninterrupted one.

    Args:
        data: the images: an `ImageSet` in memory, or a stream (data/streams.py) read as
            the batches are drawn.
        batch_size: global batch size of each phase (of the one step, one-level).
        val_fraction: held-out fraction (0: validate on the architecture half, which a
            one-level search also trains on).
        seed: split and shuffle seed.
        augment: random crop (pad 1/8) and horizontal flip on the training images.
        one_level: one stream of the whole training set instead of two halves.
        shuffle_block: a stream without random access (tensorflow-datasets) is shuffled
            within blocks of this many examples.

    Raises:
        DataError: fewer than one batch in a split.
    """

    def __init__(self, data, batch_size: int, val_fraction: float, seed: int,
                 augment: bool = False, one_level: bool = False, shuffle_block: int = 4096):
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.one_level = one_level
        self.shuffle_block = shuffle_block
        self.splits = split_indices(data.count, val_fraction, seed)
        self.train = np.sort(np.concatenate([self.splits.weight, self.splits.arch]))
        if one_level:
            if len(self.train) < batch_size:
                raise DataError(f"the training set needs at least one batch: {len(self.train)} "
                                f"examples. Received: data.batch_size={batch_size}")
            self.steps_per_epoch = len(self.train) // batch_size
            self.mean, self.std = channel_stats(data.take(self.train).stats_images())
            return
        smallest = min(len(self.splits.weight), len(self.splits.arch))
        if smallest < batch_size:
            raise DataError(f"each search half needs at least one batch: {smallest} examples "
                            f"per half. Received: data.batch_size={batch_size}")
        self.steps_per_epoch = smallest // batch_size
        self.mean, self.std = channel_stats(data.take(self.splits.weight).stats_images())

    @property
    def image_shape(self):
        return self.data.image_shape

    @property
    def num_classes(self):
        return self.data.num_classes

    def _normalize(self, image):
        return (tf.cast(image, tf.float32) / 255.0 - self.mean) / self.std

    def _augment(self, image, seed):
        h, w, _ = self.image_shape
        pad = max(1, h // 8)
        image = tf.pad(image, ((pad, pad), (pad, pad), (0, 0)))
        image = tf.image.stateless_random_crop(image, self.image_shape, seed=seed)
        return tf.image.stateless_random_flip_left_right(image, seed=seed + 1)

    def _half(self, indices, epoch, salt):
        """The shuffled, batched stream of `indices` in `epoch` (a half, or all of them)."""
        part = self.data.take(indices)
        seed = tf.stack([tf.constant(self.seed * 1_000_003 + salt, tf.int64), epoch])
        used = self.steps_per_epoch * self.batch_size
        if part.random_access:
            order = tf.random.experimental.stateless_shuffle(tf.range(len(indices)), seed=seed)
            examples = part.examples(order[:used])
        else:
            examples = block_shuffle(part.examples(), self.shuffle_block, seed).take(used)

        def load(i, image, label):
            image = self._normalize(image)
            if self.augment:
                image = self._augment(image, tf.stack([epoch * 7919 + salt, tf.cast(i, tf.int64)]))
            return image, label

        return (examples.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(self.batch_size, drop_remainder=True))

    def train_dataset(self, start_epoch: int, epochs: int) -> tf.data.Dataset:
        """`((x_w, y_w), (x_a, y_a))` batches (one-level: `(x, y)` of the whole training
        set) for epochs `start_epoch .. epochs - 1`."""

        def epoch_stream(epoch):
            if self.one_level:
                return self._half(self.train, epoch, 3)
            return tf.data.Dataset.zip((self._half(self.splits.weight, epoch, 1),
                                        self._half(self.splits.arch, epoch, 2)))

        return (tf.data.Dataset.range(start_epoch, epochs)
                .flat_map(epoch_stream)
                .prefetch(tf.data.AUTOTUNE))

    def val_dataset(self) -> tf.data.Dataset:
        """Validation batches in a fixed order, without augmentation."""
        return (self.data.take(self.splits.val).examples()
                .map(lambda i, x, y: (self._normalize(x), y))
                .batch(self.batch_size)
                .prefetch(tf.data.AUTOTUNE))
