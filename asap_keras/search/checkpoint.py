"""Search checkpoints: every model and optimizer variable plus the epoch, in one .npz."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from asap_keras.errors import CheckpointError

_PATTERN = re.compile(r"^ckpt-epoch-(\d{4,})\.npz$")
# 2: the step prunes (pruned_at/pruned_weight/threshold Variables, weight step first).
FORMAT_VERSION = 2


def checkpoint_path(directory: Path, epoch: int) -> Path:
    """The file of the checkpoint taken after `epoch` epochs have completed."""
    return Path(directory) / f"ckpt-epoch-{epoch:04d}.npz"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """`(epochs_done, path)` of every checkpoint file, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), directory / name)
             for name in os.listdir(directory) if (m := _PATTERN.match(name))]
    return sorted(found)


def _groups(model):
    return {"model": model.weights, "weight_optimizer": model.weight_optimizer.variables,
            "arch_optimizer": model.arch_optimizer.variables}


def save(model, directory: Path, epoch: int, signature: dict, keep: int = 3) -> Path:
    """Writes a checkpoint atomically (temporary file, fsync, rename) and prunes old ones.

    Args:
        model: a compiled `SearchModel` with built optimizers.
        directory: the run's checkpoint folder.
        epoch: epochs completed.
        signature: what the model was built from; checked on restore.
        keep: how many of the newest checkpoints to keep.

    Returns:
        The checkpoint path.
    """
    arrays = {"__meta__": np.array(json.dumps({"format": FORMAT_VERSION, "epoch": epoch,
                                               "signature": signature}))}
    for group, variables in _groups(model).items():
        for i, v in enumerate(variables):
            arrays[f"{group}/{i:05d}"] = np.asarray(v.numpy())
    # The architecture state again under plain names, so `derive` needs no model.
    arch = model.network.arch
    for cell_type in ("normal", "reduce"):
        arrays[f"arch/alpha_{cell_type}"] = np.asarray(arch.alphas[cell_type].numpy())
        arrays[f"arch/mask_{cell_type}"] = np.asarray(arch.masks[cell_type].numpy())
    arrays["arch/temperature"] = np.asarray(arch.temperature.numpy())
    path = checkpoint_path(directory, epoch)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def read_meta(path: Path) -> dict:
    """The metadata of a checkpoint (format, epoch, signature).

    Raises:
        CheckpointError: the file is missing, truncated or not a checkpoint.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            return json.loads(str(data["__meta__"]))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found. Received: {str(path)!r}") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"checkpoint is corrupt or not a checkpoint. Received: "
                              f"{str(path)!r} ({type(err).__name__}: {err})") from None


def read_arch_state(path: Path) -> tuple[dict, dict]:
    """The architecture state `{'alpha', 'alive', 'temperature'}` and metadata, without TF.

    Raises:
        CheckpointError: corrupt file or missing architecture arrays.
    """
    meta = read_meta(path)
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            state = {
                "alpha": {t: data[f"arch/alpha_{t}"] for t in ("normal", "reduce")},
                "alive": {t: data[f"arch/mask_{t}"] > 0.5 for t in ("normal", "reduce")},
                "temperature": float(data["arch/temperature"]),
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"checkpoint has no readable architecture state. Received: "
                              f"{str(path)!r} ({type(err).__name__}: {err})") from None
    return state, meta


def restore(model, path: Path, signature: dict | None = None) -> int:
    """Loads a checkpoint into a model built the same way; returns the epochs completed.

    Raises:
        CheckpointError: corrupt file, another signature, or a variable of another shape.
    """
    meta = read_meta(path)
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {meta.get('format')!r}; "
                              f"this asap-keras resumes format {FORMAT_VERSION} only "
                              f"(`asap-keras derive` still reads it)")
    if signature is not None and meta.get("signature") != signature:
        raise CheckpointError(f"checkpoint {str(path)!r} was written by another model "
                              f"(signature {meta.get('signature')}); this run builds "
                              f"{signature}")
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            values = {key: data[key] for key in data.files if key != "__meta__"}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"checkpoint is corrupt. Received: {str(path)!r} "
                              f"({type(err).__name__}: {err})") from None
    for group, variables in _groups(model).items():
        stored = sorted(k for k in values if k.startswith(group + "/"))
        if len(stored) != len(variables):
            raise CheckpointError(f"checkpoint {str(path)!r} holds {len(stored)} {group} "
                                  f"variables; the model has {len(variables)}")
        for i, v in enumerate(variables):
            value = values[f"{group}/{i:05d}"]
            if tuple(value.shape) != tuple(v.shape):
                raise CheckpointError(f"checkpoint {str(path)!r}: {group} variable {v.path!r} "
                                      f"has shape {value.shape}; the model expects {v.shape}")
            v.assign(value)
    return int(meta["epoch"])
