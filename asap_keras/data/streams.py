"""Images that stay on disk: image folders and tensorflow-datasets read by tf.data as used.

A source of examples (the in-memory `ImageSet`, `FolderStream`, `TfdsStream`) offers:
`count`, `image_shape`, `class_names`, `random_access`; `take(indices)`, a view of some of its
examples; `examples(order)`, a dataset of `(position, uint8 image, label)`; and
`stats_images()`, the images the channel statistics are computed from.

A folder is random access: its file names (not its pixels) are held, and any order of its
examples is read exactly, so a streamed search sees the batches an in-memory one would.
A tensorflow-datasets split is read in its file order; `block_shuffle` permutes it within
blocks of `data.shuffle_block` examples, seeded per epoch, which bounds the memory it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import tensorflow as tf

from asap_keras.errors import DataError

STATS_SAMPLE = 2048  # images a stream's channel statistics are computed from


def decode_file(path, channels: int, size: tuple[int, int], resize: bool):
    """A folder's image file as a uint8 `(H, W, C)` tensor (resized when `resize`)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels,
                               expand_animations=False)
    if resize:
        image = tf.cast(tf.image.resize(image, size, antialias=True), tf.uint8)
    return tf.ensure_shape(image, (*size, channels))


def resize_rounded(image, size: tuple[int, int]):
    """Antialiased resize rounded back to uint8 (as `sources.resize` does in memory)."""
    resized = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _first(dataset: tf.data.Dataset, limit: int) -> np.ndarray:
    batches = [x for _, x, _ in dataset.take(limit).batch(256).as_numpy_iterator()]
    return np.concatenate(batches).astype(np.uint8)


@dataclass(frozen=True)
class FolderStream:
    """An image folder read file by file: `files[i]` has label `labels[i]`."""

    files: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]
    resize: bool
    random_access = True

    @property
    def count(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def take(self, indices) -> FolderStream:
        return replace(self, files=self.files[indices], labels=self.labels[indices])

    def examples(self, order=None) -> tf.data.Dataset:
        """`(position, image, label)` in `order` (positions into this view; default all)."""
        files, labels = tf.constant(self.files), tf.constant(self.labels)
        h, w, c = self.image_shape

        def read(i):
            return i, decode_file(tf.gather(files, i), c, (h, w), self.resize), tf.gather(labels, i)

        order = tf.range(self.count, dtype=tf.int64) if order is None else order
        return (tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64))
                .map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))

    def stats_images(self) -> np.ndarray:
        return _first(self.examples(), STATS_SAMPLE)


@dataclass(frozen=True)
class TfdsStream:
    """A tensorflow-datasets split read in file order; `members` marks this view's examples
    (indices into the whole split, ascending)."""

    name: str
    split: str
    data_dir: str
    total: int
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]
    resize: bool
    members: np.ndarray = field(default=None)
    random_access = False

    def __post_init__(self):
        if self.members is None:
            object.__setattr__(self, "members", np.arange(self.total, dtype=np.int64))

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def take(self, indices) -> TfdsStream:
        return replace(self, members=np.sort(self.members[indices]))

    def examples(self, order=None) -> tf.data.Dataset:
        """`(position, image, label)` of this view in the split's file order."""
        if order is not None:
            raise ValueError("a tensorflow-datasets stream is read in file order; shuffle it "
                             "with block_shuffle. Received: order=<tensor>")
        import tensorflow_datasets as tfds

        kwargs = {"data_dir": self.data_dir} if self.data_dir else {}
        ds = tfds.load(self.name, split=self.split, as_supervised=True, shuffle_files=False,
                       download=False, **kwargs)
        position = np.full(self.total, -1, np.int64)
        position[self.members] = np.arange(self.count)
        position = tf.constant(position)
        size = self.image_shape[:2]

        def keep(k, example):
            return tf.gather(position, k) >= 0

        def read(k, example):
            image, label = example
            image = resize_rounded(image, size) if self.resize else tf.cast(image, tf.uint8)
            return (tf.gather(position, k), tf.ensure_shape(image, self.image_shape),
                    tf.cast(label, tf.int64))

        return (ds.enumerate().filter(keep)
                .map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))

    def stats_images(self) -> np.ndarray:
        return _first(self.examples(), STATS_SAMPLE)


def block_shuffle(dataset: tf.data.Dataset, block: int, seed) -> tf.data.Dataset:
    """`dataset` permuted within consecutive blocks of `block` examples, each block by its
    own stateless shuffle of `seed` (an int64 `[2]` tensor), so an epoch's order depends
    only on the seed and at most one block is held."""
    seed = tf.cast(seed, tf.int64)

    def permute(index, batch):
        size = tf.shape(batch[0], out_type=tf.int64)[0]
        order = tf.random.experimental.stateless_shuffle(
            tf.range(size), seed=tf.stack([seed[0] * 1_000_003 + index, seed[1]]))
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda t: tf.gather(t, order), batch))

    return dataset.batch(block).enumerate().flat_map(permute)


def decoded_megabytes(count: int, image_shape) -> float:
    """Memory the decoded uint8 images would take."""
    return count * float(np.prod(image_shape)) / 2**20


def should_stream(stream: str, memory_mb: int, count: int, image_shape) -> bool:
    """`data.stream`: "always", "never", or "auto": stream when the decoded images would
    take more than `data.memory_mb` (or their size varies, so it cannot be known)."""
    if stream in ("always", "never"):
        return stream == "always"
    if any(d is None for d in image_shape):
        return True
    return decoded_megabytes(count, image_shape) > memory_mb


def check_size(image_shape, where: str) -> None:
    if any(d is None for d in image_shape):
        raise DataError(f"{where} has images of varying size: set data.image_size to stream "
                        f"them. Received: image shape {tuple(image_shape)}")
