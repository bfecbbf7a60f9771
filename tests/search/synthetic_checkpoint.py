"""Search checkpoints and run directories written by hand with NumPy, in the documented layout.

No model is built: `checkpoint_arrays` gives the arrays `checkpoint.save()` writes (the
metadata, a few stand-in variables and the architecture state), so the readers can be fed
every malformed variant of them.
"""

import io
import json
import zipfile

import numpy as np

from asap_keras.search.checkpoint import FORMAT_VERSION
from asap_keras.space.primitives import edge_count

OPS = ["sep_conv_3x3", "max_pool_3x3", "skip_connect"]
NODES = 2


def signature(ops=OPS, nodes=NODES) -> dict:
    return {"ops": list(ops), "cells": 2, "channels": 4, "nodes": nodes, "stem_multiplier": 1,
            "image_shape": [8, 8, 1], "num_classes": 3}


def meta_array(meta) -> np.ndarray:
    return np.array(json.dumps(meta))


def checkpoint_arrays(ops=OPS, nodes=NODES, epoch=3, fmt=FORMAT_VERSION, seed=0) -> dict:
    """Every array of a small checkpoint: metadata, stand-in variables, the arch state."""
    rng = np.random.default_rng(seed)
    shape = (edge_count(nodes), len(ops))
    arrays = {"__meta__": meta_array({"format": fmt, "epoch": epoch,
                                      "signature": signature(ops, nodes)})}
    arrays["model/00000"] = rng.normal(size=(3, 3)).astype(np.float32)
    arrays["model/00001"] = rng.normal(size=shape).astype(np.float32)
    arrays["weight_optimizer/00000"] = np.array(7, np.int64)
    arrays["arch_optimizer/00000"] = np.zeros(shape, np.float32)
    for cell_type in ("normal", "reduce"):
        arrays[f"arch/alpha_{cell_type}"] = rng.normal(size=shape).astype(np.float32)
        mask = np.ones(shape, np.float32)
        mask[::2, 0] = 0.0
        arrays[f"arch/mask_{cell_type}"] = mask
    arrays["arch/temperature"] = np.array(0.8, np.float32)
    return arrays


def npz_bytes(arrays: dict, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def write_checkpoint(path, arrays=None, compressed=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(npz_bytes(checkpoint_arrays() if arrays is None else arrays, compressed))
    return path


def npy_header(shape, descr="<f4") -> bytes:
    """A version 1.0 `.npy` header, padded as NumPy pads it (no data follows)."""
    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def replace_member(data: bytes, name: str, payload: bytes) -> bytes:
    """The same zip with member `name` (e.g. 'arch/alpha_normal.npy') holding `payload`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, payload if info.filename == name else src.read(info))
    return out.getvalue()


def make_run(root, epochs=(1, 2), **kwargs):
    """A search run directory with a config, run.json and one checkpoint per epoch."""
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.resolved.toml").write_text("[run]\nname = 'synthetic'\n")
    (run / "run.json").write_text(json.dumps({"seed": 0, "signature": signature()}))
    for epoch in epochs:
        write_checkpoint(run / "checkpoints" / f"ckpt-epoch-{epoch:04d}.npz",
                         checkpoint_arrays(epoch=epoch, seed=epoch, **kwargs))
    return run


def tree(path) -> dict:
    """Every name below `path` (folders included) with its size and modification time."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in [path, *path.rglob("*")]}
