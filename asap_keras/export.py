"""Exports a retrained model as a SavedModel (serving and training endpoints) with metadata."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from asap_keras import run_dir as run_dir_lib
from asap_keras.errors import AsapError, CheckpointError, describe

SAVED_MODEL_DIR = "saved_model"
METADATA_FILE = "metadata.json"


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


def export_run(run_dir: str | Path, out: str | Path, input_shape=None) -> Path:
    """Writes `out/saved_model`, `out/model.keras` and `out/metadata.json`.

    The SavedModel has two endpoints: `serve` (inference) and `train` (training mode:
    BatchNorm batch statistics and drop-path), for `keras.layers.TFSMLayer(...,
    call_training_endpoint="train", trainable=True)`.

    Raises:
        RunDirError, CheckpointError, ExportError: not a training run, no or corrupt model,
            an input shape the network cannot serve, or an existing non-empty `out`.
    """
    import keras
    import tensorflow as tf

    import asap_keras.child.network  # noqa: F401  (registers the layers for loading)

    run_path = run_dir_lib.open_run_dir(run_dir)
    info = run_dir_lib.read_run_info(run_path)
    if info.get("kind") != "train":
        raise ExportError(
            f"{run_path} is a {info.get('kind', 'unknown')} run: its supernet is not a model "
            f"to export. Retrain its cell first (asap-keras train CONFIG --genotype "
            f"{run_path / run_dir_lib.GENOTYPE_FILE}) and export that run. "
            f"Received: RUN_DIR={str(run_dir)!r}")
    model_file = run_path / run_dir_lib.MODEL_FILE
    if not model_file.is_file():
        raise CheckpointError(f"no trained model in the run (it saves model.keras after each "
                              f"epoch). Received: {str(model_file)!r}")
    try:
        model = keras.saving.load_model(model_file)
    except Exception as err:  # a truncated zip raises several types
        raise CheckpointError(f"cannot load the trained model ({describe(err)}). "
                              f"Received: {str(model_file)!r}") from None
    shape = check_input_shape(model, input_shape)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"the export folder exists and is not empty; choose another. "
                          f"Received: --out={str(out)!r}")
    spec = [tf.TensorSpec((None, *shape), tf.float32, name="images")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=spec)
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
            "preprocessing": {"input": "float32 images, values in [0, 255], NHWC",
                              "normalization": "inside the model",
                              "mean": model.mean, "std": model.std},
            "endpoints": {"serve": "logits, inference mode",
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
