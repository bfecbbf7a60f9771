"""Exports a retrained model as a SavedModel (serving and training endpoints) with metadata.

The module is also the API function: `asap_keras.export(run_dir, out)` calls
`asap_keras.api.export`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from asap_keras import run_dir as run_dir_lib
from asap_keras.callable_module import make_callable
from asap_keras.errors import AsapError, CheckpointError, describe, quote

SAVED_MODEL_DIR = "saved_model"
METADATA_FILE = "metadata.json"

make_callable(__name__, "export")


class ExportError(AsapError):
    """The run cannot be exported as asked."""


def check_input_shape(model, shape) -> tuple[int, int, int]:
    """The serving input shape: the trained one, or `shape` if the network can serve it.

    Raises:
        ExportError: wrong channel count, or a side too small for the network's reductions.
    """
    trained = tuple(model.image_shape)
    if shape is None:
        return trained
    shape = tuple(int(d) for d in shape)
    if len(shape) != 3 or shape[-1] != trained[-1]:
        raise ExportError(f"the input shape must be (H, W, {trained[-1]}) like the training "
                          f"images {trained}. Received: input_shape={shape}")
    smallest = 2 ** (len(model.reduction_at) + (3 if model.variant == "imagenet" else 0))
    if min(shape[:2]) < smallest:
        raise ExportError(f"the network reduces its input {smallest}x; each side must be at "
                          f"least {smallest}. Received: input_shape={shape}")
    return shape


def check_export(run_dir: str | Path, out: str | Path) -> tuple[Path, dict, Path]:
    """Checks a training run and an export folder before anything heavy is imported.

    Returns:
        `(run_path, run_info, model_file)`.

    Raises:
        RunDirError, CheckpointError, ExportError: no run directory or `run.json`, not a
            training run, no `model.keras` (or not a regular file), or an `out` that is a
            file or a non-empty folder, or whose parent is not a folder.
    """
    run_path = run_dir_lib.open_run_dir(run_dir)
    info = run_dir_lib.read_run_info(run_path)
    if info.get("kind") != "train":
        kind = info.get("kind", "unknown")
        kind = kind if isinstance(kind, str) and kind.isidentifier() else quote(kind)
        raise ExportError(
            f"{run_path} is a {kind} run: its supernet is not a model to export. Retrain its "
            f"cell first (asap-keras train CONFIG --genotype "
            f"{run_path / run_dir_lib.GENOTYPE_FILE}) and export that run. "
            f"Received: RUN_DIR={str(run_dir)!r}")
    model_file, out = run_path / run_dir_lib.MODEL_FILE, Path(out)
    try:
        model_mode = _mode(model_file)
    except OSError as err:
        raise CheckpointError(f"cannot read the trained model ({err.strerror or err}). "
                              f"Received: {str(model_file)!r}") from None
    if model_mode is None:
        raise CheckpointError(f"no trained model in the run (it saves model.keras after each "
                              f"epoch). Received: {str(model_file)!r}")
    if not stat.S_ISREG(model_mode):
        raise CheckpointError(f"model.keras is not a regular file. "
                              f"Received: {str(model_file)!r}")
    try:
        _check_out(out)
    except OSError as err:
        raise ExportError(f"cannot use the export folder ({err.strerror or err}). "
                          f"Received: --out={str(out)!r}") from None
    return run_path, info, model_file


def _check_out(out: Path) -> None:
    """Refuses an `out` that is a file or a non-empty folder, or lies under a file."""
    mode = _mode(out)
    if mode is not None and not stat.S_ISDIR(mode):
        raise ExportError(f"the export folder is an existing file; choose another. "
                          f"Received: --out={str(out)!r}")
    if mode is not None and any(out.iterdir()):
        raise ExportError(f"the export folder exists and is not empty; choose another. "
                          f"Received: --out={str(out)!r}")
    existing = next(p for p in out.absolute().parents if _mode(p) is not None)
    if not stat.S_ISDIR(_mode(existing)):
        raise ExportError(f"the export folder cannot be created under a file. "
                          f"Received: --out={str(out)!r}")


def _mode(path: Path) -> int | None:
    """`st_mode` of what is at `path` (links followed), or None if nothing is.

    Raises:
        OSError: `path` cannot be examined (no permission, a name too long).
    """
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


def export_run(run_dir: str | Path, out: str | Path, input_shape=None) -> Path:
    """Writes `out/saved_model`, `out/model.keras` and `out/metadata.json`.

    The SavedModel has three endpoints: `serve` (inference on float32 images), `serve_uint8`
    (the same on uint8 images as decoded from files) and `train` (training mode:
    BatchNorm batch statistics and drop-path), for `keras.layers.TFSMLayer(...,
    call_training_endpoint="train", trainable=True)`. The run and `out` are checked
    (`check_export`) before TensorFlow is imported.

    Raises:
        RunDirError, CheckpointError, ExportError: not a training run, no or corrupt model,
            an input shape the network cannot serve, or an existing non-empty `out`.
    """
    run_path, info, model_file = check_export(run_dir, out)
    import keras
    import tensorflow as tf

    import asap_keras.child.network  # noqa: F401  (registers the layers for loading)

    try:
        model = keras.saving.load_model(model_file)
    except Exception as err:  # a truncated zip raises several types
        raise CheckpointError(f"cannot load the trained model ({describe(err)}). "
                              f"Received: {str(model_file)!r}") from None
    shape = check_input_shape(model, input_shape)
    out = Path(out)
    spec = [tf.TensorSpec((None, *shape), tf.float32, name="images")]
    spec_uint8 = [tf.TensorSpec((None, *shape), tf.uint8, name="images")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=spec)
    archive.add_endpoint("serve_uint8", lambda x: model(x, training=False),
                         input_signature=spec_uint8)
    archive.add_endpoint("train", lambda x: model(x, training=True), input_signature=spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        archive.write_out(str(staging / SAVED_MODEL_DIR), verbose=False)
        shutil.copy2(model_file, staging / run_dir_lib.MODEL_FILE)
        metadata = {
            "genotype": model.genotype, "input_shape": list(shape),
            "trained_image_shape": list(model.image_shape),
            "num_classes": model.num_classes, "class_names": info.get("class_names"),
            "preprocessing": {"input": "images with values in [0, 255], NHWC: float32 "
                                       "(serve, train) or uint8 as decoded (serve_uint8)",
                              "normalization": "inside the model",
                              "mean": model.mean, "std": model.std},
            "endpoints": {"serve": "logits, inference mode",
                          "serve_uint8": "logits, inference mode, uint8 images",
                          "train": "logits, training mode (BatchNorm batch statistics, "
                                   "drop-path at the saved rate)"},
            "model": {"channels": model.channels, "layers": model.num_layers,
                      "variant": model.variant, "auxiliary": model.auxiliary},
            "source_run": str(run_path), "versions": run_dir_lib.versions(),
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
