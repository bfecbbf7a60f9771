"""Image sources: the embedded digits set, tensorflow-datasets names, image folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asap_keras.errors import DataError, describe

TFDS_NAMES = ("cifar10", "cifar100", "svhn_cropped", "fashion_mnist", "mnist")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclass(frozen=True)
class ImageSet:
    """Images in memory: uint8 `(N, H, W, C)` with integer labels and class names."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # The source interface shared with the streams of data/streams.py.
    random_access = True

    @property
    def count(self) -> int:
        return len(self.labels)

    def take(self, indices) -> ImageSet:
        return ImageSet(self.images[indices], self.labels[indices], self.class_names)

    def examples(self, order=None):
        """`(position, image, label)` in `order` (positions; default all, in order)."""
        import tensorflow as tf

        with tf.init_scope():  # eager tensors, captured by reference, not graph constants
            images, labels = tf.constant(self.images), tf.constant(self.labels)
        order = tf.range(self.count, dtype=tf.int64) if order is None else order
        return (tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64))
                .map(lambda i: (i, tf.gather(images, i), tf.gather(labels, i)),
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))

    def stats_images(self) -> np.ndarray:
        """All of them: in memory, the channel statistics are exact."""
        return self.images


def load_digits() -> ImageSet:
    """scikit-learn's 8x8 handwritten digits (1,797 images), shipped inside the package."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return ImageSet(images, bunch.target.astype(np.int64),
                    tuple(str(n) for n in bunch.target_names))


def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to `url`'s host opens within `timeout` seconds."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (80 if parts.scheme == "http" else 443)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_error(name, split, data_dir, detail):
    where = data_dir or "the default tensorflow_datasets directory"
    return DataError(
        f"tensorflow-datasets dataset {name!r} (split {split!r}) is not available offline in "
        f"{where}; prepare it first (e.g. `tfds build {name}`), set data.data_dir, or allow "
        f"data.download on a machine with internet. Received: data.name={name!r} ({detail})")


def load_tfds(name: str, data_dir: str = "", split: str = "train",
              download: bool = False, stream: str = "auto", memory_mb: int = 2048,
              image_size: int = 0):
    """A tensorflow-datasets image dataset, prepared on first use when `download` is set.

    With `download`, a dataset not yet on disk is fetched and prepared by tfds (its own
    progress bar), after a 5-second check that the dataset's host answers: without internet
    the call fails at once rather than after tfds' retries. Without `download`, only what is
    already on disk is read.

    Args:
        name: the tfds name (e.g. "cifar10").
        data_dir: where tfds keeps datasets ("" for its default).
        split: a tfds split, slices included ("train", "train[:90%]", "validation").
        download: fetch and prepare the dataset if it is missing.
        stream, memory_mb: `data.stream` and `data.memory_mb`: whether to return a
            `TfdsStream` (read as used) rather than an `ImageSet` in memory.
        image_size: the square size a stream resizes to (0: the dataset's own).

    Raises:
        DataError: the dataset or split is unavailable (named with the reason).
    """
    import tensorflow_datasets as tfds

    from asap_keras.data.streams import TfdsStream, check_size, should_stream

    kwargs = {"data_dir": data_dir} if data_dir else {}

    def load(fetch):
        return tfds.load(name, split=split, as_supervised=True, with_info=True,
                         download=fetch, **kwargs)

    try:
        ds, info = load(False)  # what is on disk (or mocked) needs no network
    except Exception as err:  # tfds raises assorted types for a missing dataset or split
        if not download:
            raise _offline_error(name, split, data_dir, describe(err)) from None
        try:
            homepage = tfds.builder(name, **kwargs).info.homepage
        except Exception as err:  # an unknown name
            raise DataError(f"tensorflow-datasets has no dataset {name!r}. Received: "
                            f"data.name={name!r} ({describe(err)})") from None
        homepage = homepage or "https://storage.googleapis.com"
        if not reachable(homepage):
            raise _offline_error(name, split, data_dir, f"no connection to {homepage} to "
                                 f"download it") from None
        try:
            ds, info = load(True)
        except Exception as err:
            raise _offline_error(name, split, data_dir, describe(err)) from None
    label_feature = info.features["label"]
    names = tuple(label_feature.names) if hasattr(label_feature, "names") else tuple(
        str(i) for i in range(label_feature.num_classes))
    shape = tuple(info.features[info.supervised_keys[0]].shape)
    try:
        total = int(info.splits[split].num_examples)
    except Exception:  # noqa: BLE001 - a split tfds cannot size without reading
        total = int(ds.cardinality().numpy())
    if image_size:  # the decision is about the pixels that would be held: resized ones
        shape = (image_size, image_size, shape[-1])
    if total > 0 and should_stream(stream, memory_mb, total, shape):
        check_size(shape, f"tensorflow-datasets dataset {name!r}")
        return TfdsStream(name, split, data_dir, total, names, tuple(int(d) for d in shape),
                          resize=bool(image_size))
    images, labels = [], []
    for x, y in tfds.as_numpy(ds.batch(1024)):
        images.append(x)
        labels.append(y)
    if not images:
        raise DataError(f"tensorflow-datasets dataset {name!r} split {split!r} is empty")
    return ImageSet(np.concatenate(images).astype(np.uint8),
                    np.concatenate(labels).astype(np.int64), names)


def _folder_files(root: Path) -> tuple[list[str], list[int], tuple[str, ...]]:
    if not root.is_dir():
        raise DataError(f"image folder not found. Received: data.root={str(root)!r}")
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    if not classes:
        raise DataError(f"image folder has no class sub-folders (root/<class>/*.jpg). "
                        f"Received: data.root={str(root)!r}")
    files, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                files.append(str(path))
                labels.append(label)
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under the class folders. "
                        f"Received: data.root={str(root)!r}")
    return files, labels, classes


def load_folder(root: str, image_size: int = 0, limit: int = 0, seed: int = 0,
                stream: str = "auto", memory_mb: int = 2048):
    """Images laid out as `root/<class>/<file>`; class names are the folder names, sorted.

    Args:
        root: the folder.
        image_size: resize to this square size; 0 keeps the size of the first image (all
            images must then share it).
        limit: read at most this many images, sampled with `seed` across classes.
        seed: the sampling seed.
        stream, memory_mb: `data.stream` and `data.memory_mb`: whether to return a
            `FolderStream` (file names only, decoded as used) rather than an `ImageSet`.

    Raises:
        DataError: missing folder, no images, an unreadable image, or mixed sizes.
    """
    import tensorflow as tf

    from asap_keras.data.streams import FolderStream, decode_file, should_stream

    files, labels, classes = _folder_files(Path(root))
    if limit and limit < len(files):
        keep = np.sort(np.random.default_rng(seed).permutation(len(files))[:limit])
        files = [files[i] for i in keep]
        labels = [labels[i] for i in keep]
    first = tf.io.decode_image(tf.io.read_file(files[0]), expand_animations=False)
    channels = int(first.shape[-1])
    size = (image_size, image_size) if image_size else tuple(first.shape[:2])
    if should_stream(stream, memory_mb, len(files), (*size, channels)):
        return FolderStream(np.asarray(files), np.asarray(labels, np.int64), classes,
                            (*size, channels), resize=bool(image_size))
    ds = tf.data.Dataset.from_tensor_slices(files).map(
        lambda path: decode_file(path, channels, size, bool(image_size)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    try:
        images = np.concatenate(list(ds.batch(2048).as_numpy_iterator()))
    except tf.errors.OpError as err:
        raise DataError(f"cannot read the images under {root!r} (set data.image_size if "
                        f"they differ in size): {err.message.splitlines()[0]}") from None
    return ImageSet(images.astype(np.uint8), np.asarray(labels, np.int64), classes)


def load_images(source: str, name: str = "", root: str = "", data_dir: str = "",
                image_size: int = 0, limit: int = 0, seed: int = 0, split: str = "train",
                download: bool = False, stream: str = "auto", memory_mb: int = 2048):
    """Loads the images a `[data]` section names (see `DataConfig`): an `ImageSet` in
    memory, or a stream of an image folder or a tensorflow-datasets split (see
    data/streams.py) when `stream` says so."""
    if source == "digits":
        data = load_digits()
    elif source == "tfds":
        data = load_tfds(name, data_dir, split, download, stream, memory_mb, image_size)
    elif source == "folder":
        return load_folder(root, image_size, limit, seed, stream, memory_mb)
    elif source == "arrays":
        raise DataError("data.source='arrays' names images passed from Python: run it "
                        "with asap_keras.search(config, data=(images, labels)). "
                        f"Received: source={source!r}")
    else:
        raise DataError(f"data.source must be 'digits', 'tfds' or 'folder'. "
                        f"Received: source={source!r}")
    return fit(data, image_size, limit, seed)


def fit(data, image_size: int = 0, limit: int = 0, seed: int = 0):
    """`data` cut to `limit` examples (seeded sample, 0 keeps all) and resized (see `resize`;
    a stream resizes as it reads)."""
    if limit and limit < data.count:
        data = data.take(np.sort(np.random.default_rng(seed).permutation(data.count)[:limit]))
    return resize(data, image_size) if isinstance(data, ImageSet) else data


def resize(data: ImageSet, image_size: int) -> ImageSet:
    """`data` resized to `image_size` squares (antialiased); unchanged if 0 or already so."""
    if not image_size or data.image_shape[:2] == (image_size, image_size):
        return data
    import tensorflow as tf

    resized = tf.image.resize(data.images, (image_size, image_size), antialias=True)
    return ImageSet(np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8),
                    data.labels, data.class_names)
