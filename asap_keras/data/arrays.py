"""Images passed from Python (the API): checked, converted, fingerprinted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from asap_keras import run_dir as run_dir_lib
from asap_keras.data.sources import ImageSet
from asap_keras.errors import DataError

# `data.source` of a run whose images came from Python (`asap_keras.search(data=(x, y))`).
ARRAYS_SOURCE = "arrays"


def image_set(data, class_names=None):
    """An `ImageSet` from `(x, y)` arrays or a `tf.data.Dataset` of `(image, label)`.

    Images are `(N, H, W, C)` (or `(N, H, W)`) with values in [0, 255], any numeric dtype;
    labels are integers 0..K-1. A dataset is read once, into memory (batched or not).

    Raises:
        DataError: shapes, value ranges or labels that do not fit (named).
    """
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif hasattr(data, "as_numpy_iterator"):
        xs, ys = [], []
        for item in data.as_numpy_iterator():
            if not isinstance(item, tuple) or len(item) != 2:
                raise DataError("a tf.data.Dataset for asap_keras holds (image, label) pairs. "
                                f"Received: an element of type {type(item).__name__}")
            image, label = item
            batched = np.ndim(label) == 1
            xs.append(image if batched else image[None])
            ys.append(label if batched else np.reshape(label, (1,)))
        if not xs:
            raise DataError("the tf.data.Dataset passed as data is empty")
        x, y = np.concatenate(xs), np.concatenate(ys)
    else:
        raise DataError(f"data must be (images, labels) arrays or a tf.data.Dataset of "
                        f"(image, label). Received: {type(data).__name__}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0 or x.shape[-1] not in (1, 3):
        raise DataError(f"images must be (N, H, W, C) with C in (1, 3). Received: shape "
                        f"{x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all() or x.min() < 0 \
            or x.max() > 255:
        raise DataError(f"images must be numbers in [0, 255] (as decoded from files). "
                        f"Received: dtype {x.dtype}, range {x.min()}..{x.max()}")
    y = y.reshape(-1)
    if y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise DataError(f"labels must be {x.shape[0]} integers >= 0, one per image. "
                        f"Received: shape {y.shape}, dtype {y.dtype}")
    classes = int(y.max()) + 1
    names = tuple(class_names) if class_names is not None else tuple(
        str(i) for i in range(classes))
    if len(names) < classes:
        raise DataError(f"class_names must name all {classes} labels. Received: "
                        f"{len(names)} names")
    return ImageSet(np.round(x).astype(np.uint8), y.astype(np.int64), names)


def fingerprint(images) -> str:
    """SHA-256 of an `ImageSet`'s pixels and labels: what a resume checks it is given."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images.images).tobytes())
    digest.update(np.ascontiguousarray(images.labels).tobytes())
    digest.update(repr(images.image_shape).encode())
    return digest.hexdigest()


def check_arrays(source: str, images, fingerprint_: str | None,
                 run_file: Path | None = None) -> None:
    """Images from Python go with `data.source = "arrays"`, and that source needs them; a
    resumed run (`run_file`: its `run.json`) needs the same ones it started with.

    Raises:
        DataError: images without the source, the source without images, or other images
            than the run recorded (by SHA-256).
    """
    if source != ARRAYS_SOURCE:
        if images is not None:
            raise DataError("images passed from Python need data.source='arrays' (the "
                            f"Python API sets it). Received: data.source={source!r}")
        return
    if images is None:
        raise DataError("this run's images were passed from Python (data.source='arrays'): "
                        "pass the same arrays again, e.g. asap_keras.search(resume=RUN_DIR, "
                        "data=(x, y))")
    if run_file is None:
        return
    recorded = run_dir_lib.read_json_object(run_file).get("data_fingerprint")
    if recorded is not None and recorded != fingerprint_:
        raise DataError(f"the arrays passed differ from the ones this run used (SHA-256 "
                        f"{str(fingerprint_)[:12]}... vs {str(recorded)[:12]}...). "
                        f"Received: data of {len(images.labels)} examples")
