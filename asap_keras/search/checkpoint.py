"""Search checkpoints: every model and optimizer variable plus the epoch, in one .npz.

The file is an uncompressed NumPy `.npz` (a zip of `.npy` arrays) written by `save()`:

- `__meta__`: a 0-d unicode array holding a JSON object `{"format": FORMAT_VERSION,
  "epoch": epochs completed, "signature": {"ops": [op names], "cells", "channels",
  "nodes", "stem_multiplier", "image_shape", "num_classes", "method", "relaxation",
  "topology"}}` (the last three from format 3 on);
- `model/NNNNN`, `weight_optimizer/NNNNN`, `arch_optimizer/NNNNN`: every variable, in order;
- `arch/alpha_normal`, `arch/alpha_reduce` (edges x ops), `arch/mask_normal`,
  `arch/mask_reduce` (0/1, edges x ops) and `arch/temperature` (0-d): the architecture
  state again under plain names, so `derive` needs no model. Formats 1 (before the step
  prunes) and 2 (before GOLD-NAS' lambda and dlam Variables) have the same arrays; `derive`
  reads them, resume does not.
- `step/traced_normal`, `step/traced_reduce` (0/1, edges x ops: the ops the step computed,
  every alive op and dead ones not yet rebuilt away) and `step/rebuild_waste` (0-d: the
  rebuild rule's op-steps wasted since the last rebuild), so a resume traces the step the
  search was running. Optional: without them a resume builds the step from the masks.

Readers are total: any file gives its content or one `CheckpointError` naming it. Each
array's `.npy` header is checked (shape, dtype, size) before its data is read, so a header
claiming a huge shape allocates nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from asap_keras.errors import CheckpointError, quote
from asap_keras.space.genotype import MAX_NODES
from asap_keras.space.primitives import ALL_OPS, edge_count

_PATTERN = re.compile(r"^ckpt-epoch-(\d{4,})\.npz$")
# 2: the step prunes (pruned_at/pruned_weight/threshold Variables, weight step first).
# 3: GOLD-NAS' resource_weight/resource_step Variables; the signature names the method.
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)  # what `derive` reads; resume needs FORMAT_VERSION
CELL_TYPES = ("normal", "reduce")
MAX_EPOCH = 10**6
MAX_META_CHARS = 1 << 20  # the metadata JSON is a few hundred characters
# What reading a damaged zip member or .npy header raises (zlib: damaged deflate data;
# RuntimeError: an encrypted member; SyntaxError/RecursionError: a mangled header).
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error,
                NotImplementedError, RuntimeError, SyntaxError, OverflowError, MemoryError)


def checkpoint_path(directory: Path, epoch: int) -> Path:
    """The file of the checkpoint taken after `epoch` epochs have completed."""
    return Path(directory) / f"ckpt-epoch-{epoch:04d}.npz"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """`(epochs_done, path)` of every checkpoint file, oldest first.

    Only regular files (or links to them) count: a FIFO, folder or device named like a
    checkpoint is skipped, never opened.

    Raises:
        CheckpointError: the folder exists but cannot be listed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                match = _PATTERN.match(entry.name)
                if match and _is_regular(entry):
                    found.append((int(match.group(1)), directory / entry.name))
    except OSError as err:
        raise CheckpointError(f"cannot list the checkpoints ({err.strerror or err}). "
                              f"Received: {str(directory)!r}") from None
    return sorted(found)


def _is_regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


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
    arrays.update(_step_state(model))
    path = checkpoint_path(directory, epoch)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


class _Archive:
    """A checkpoint's zip of `.npy` arrays, each header checked before its data is read.

    Opened without blocking (a FIFO is refused, never waited on); every failure is a
    `CheckpointError` naming the file.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            raise CheckpointError(f"checkpoint not found. Received: {str(path)!r}") from None
        except (OSError, ValueError) as err:
            self.fail(f"cannot be opened ({getattr(err, 'strerror', None) or err})")
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError:
            regular = False
        if not regular:
            os.close(fd)
            self.fail("is not a regular file")
        file = self._stack.enter_context(os.fdopen(fd, "rb"))
        try:
            self._zip = self._stack.enter_context(zipfile.ZipFile(file))
            self.members = {info.filename[:-4]: info for info in self._zip.infolist()
                            if info.filename.endswith(".npy")}
        except _READ_ERRORS as err:
            self.close()
            self.fail(f"is corrupt or not a checkpoint ({_describe(err)})")

    def close(self):
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fail(self, why: str):
        _fail(self.path, why)

    def array(self, key: str, shape: tuple, kinds: str = "biuf",
              max_bytes: int | None = None) -> np.ndarray:
        """The array `key`, which must have `shape` and a dtype of one of `kinds`."""
        info = self.members.get(key)
        if info is None:
            self.fail(f"has no array {key!r}")
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                               zipfile.ZIP_DEFLATED):
            self.fail(f"stores {key!r} encrypted or with an unknown compression")
        try:
            with self._zip.open(info) as member, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's note on Python 2 headers
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    found, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    found, fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    self.fail(f"stores {key!r} in .npy format {version}, not 1.0 or 2.0")
                if any(isinstance(d, bool) or d < 0 for d in found) or found != shape:
                    self.fail(f"array {key!r} has shape {quote(found)}; "
                              f"expected {shape}")
                if dtype.kind not in kinds or dtype.hasobject:
                    self.fail(f"array {key!r} has dtype {quote(str(dtype))}; "
                              f"expected kind {kinds!r}")
                size = math.prod(shape) * dtype.itemsize
                if max_bytes is not None and size > max_bytes:
                    self.fail(f"array {key!r} holds {size} bytes, more than {max_bytes}")
                if info.file_size != member.tell() + size:
                    self.fail(f"array {key!r} holds {info.file_size - member.tell()} data "
                              f"bytes; its header says {size}")
                data = bytearray(size)
                if member.readinto(data) != size or member.read(1):
                    self.fail(f"array {key!r} is truncated")
        except _READ_ERRORS as err:
            self.fail(f"array {key!r} is corrupt ({_describe(err)})")
        if dtype.itemsize == 0:  # np.frombuffer refuses it; only '<U0' or 'S0' get here
            self.fail(f"array {key!r} has the empty dtype {dtype}")
        array = np.frombuffer(data, dtype)
        array = array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def _describe(err: BaseException) -> str:
    """`TypeName: first line of its message`, cut to about 80 characters."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text[:80]}"


def _fail(path: Path, why: str):
    raise CheckpointError(f"checkpoint {why}. Received: {str(path)!r}")


def _numpy_dtype(name, default: np.dtype) -> np.dtype:
    """The NumPy dtype of a Keras dtype name (`default` where NumPy has none: bfloat16)."""
    try:
        return np.dtype(str(name))
    except TypeError:
        return default


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_meta(meta, path: Path) -> dict:
    """The metadata object, its format, epoch and signature (ops, nodes) validated."""
    if not isinstance(meta, dict):
        _fail(path, f"metadata must be a JSON object, not {type(meta).__name__}")
    fmt, epoch, signature = meta.get("format"), meta.get("epoch"), meta.get("signature")
    if not _is_int(fmt) or fmt not in READABLE_FORMATS:
        _fail(path, f"format must be one of {READABLE_FORMATS}, not {quote(fmt)}")
    if not _is_int(epoch) or not 0 <= epoch <= MAX_EPOCH:
        _fail(path, f"epoch must be an integer in 0..{MAX_EPOCH}, not {quote(epoch)}")
    if not isinstance(signature, dict):
        _fail(path, f"signature must be a JSON object, not {quote(signature)}")
    ops, nodes = signature.get("ops"), signature.get("nodes")
    if (not isinstance(ops, list) or len(ops) < 2
            or any(not isinstance(op, str) or op not in ALL_OPS for op in ops)
            or len(set(ops)) != len(ops)):
        _fail(path, f"signature.ops must list 2 or more distinct op names of "
                    f"{sorted(ALL_OPS)}, not {quote(ops)}")
    if not _is_int(nodes) or not 1 <= nodes <= MAX_NODES:
        _fail(path, f"signature.nodes must be an integer in 1..{MAX_NODES}, "
                    f"not {quote(nodes)}")
    return meta


def _read_meta(archive: _Archive) -> dict:
    raw = archive.array("__meta__", (), kinds="U", max_bytes=4 * MAX_META_CHARS)
    try:
        meta = json.loads(str(raw[()]))
    except RecursionError:
        archive.fail("metadata JSON is nested too deeply")
    except ValueError as err:  # JSONDecodeError, or an integer of over 4300 digits
        archive.fail(f"metadata is not valid JSON ({_describe(err)})")
    return _check_meta(meta, archive.path)


def read_meta(path: Path) -> dict:
    """The metadata of a checkpoint (format, epoch, signature), validated.

    Raises:
        CheckpointError: the file is missing, not a regular file, truncated or not a
            checkpoint, or its metadata is malformed (format, epoch, signature ops/nodes).
    """
    with _Archive(path) as archive:
        return _read_meta(archive)


def _arch_state(archive: _Archive, signature: dict) -> dict:
    """The validated architecture state of an open checkpoint."""
    shape = (edge_count(signature["nodes"]), len(signature["ops"]))
    state = {"alpha": {}, "alive": {}}
    for cell_type in CELL_TYPES:
        alpha = archive.array(f"arch/alpha_{cell_type}", shape, kinds="iuf")
        mask = archive.array(f"arch/mask_{cell_type}", shape, kinds="biuf")
        if not np.isfinite(alpha).all() or not np.isfinite(mask).all():
            archive.fail(f"arch/alpha_{cell_type} or arch/mask_{cell_type} is not finite")
        state["alpha"][cell_type], state["alive"][cell_type] = alpha, mask > 0.5
    temperature = float(archive.array("arch/temperature", (), kinds="iuf"))
    if not np.isfinite(temperature) or temperature <= 0:
        archive.fail(f"temperature must be finite and > 0, not {temperature!r}")
    largest = max(float(np.abs(a).max(initial=0.0)) for a in state["alpha"].values())
    if largest / temperature > 1e300:  # alpha / T must stay finite (Eq. 3's logits)
        archive.fail(f"alphas up to {largest:.3g} overflow at temperature {temperature:.3g}")
    state["temperature"] = temperature
    return state


def read_arch_state(path: Path) -> tuple[dict, dict]:
    """The architecture state `{'alpha', 'alive', 'temperature'}` and metadata, without TF.

    Reads formats 1 to 3. Alphas and masks must have the signature's shape (edges for its
    nodes, x its ops), be finite, and T be finite and > 0.

    Raises:
        CheckpointError: corrupt file, malformed metadata, or missing, misshapen or
            non-finite architecture arrays.
    """
    with _Archive(path) as archive:
        meta = _read_meta(archive)
        return _arch_state(archive, meta["signature"]), meta


def restore(model, path: Path, signature: dict | None = None) -> int:
    """Loads a checkpoint into a model built the same way; returns the epochs completed.

    Every array is read and checked before any variable is assigned, so a refused
    checkpoint leaves the model as it was.

    Raises:
        CheckpointError: corrupt file, another format or signature, a missing variable or
            one of another shape, or a non-finite architecture state.
    """
    with _Archive(path) as archive:
        meta = _read_meta(archive)
        if meta["format"] != FORMAT_VERSION:
            archive.fail(f"has format {meta['format']}; this asap-keras resumes format "
                         f"{FORMAT_VERSION} only (`asap-keras derive` still reads it)")
        if signature is not None and meta["signature"] != signature:
            archive.fail(f"was written by another model (signature "
                         f"{quote(meta['signature'], 400)}); this run builds {signature}")
        alive = _arch_state(archive, meta["signature"])["alive"]
        values = []
        for group, variables in _groups(model).items():
            stored = [k for k in archive.members if k.startswith(group + "/")]
            if len(stored) != len(variables):
                archive.fail(f"holds {len(stored)} {group} variables; the model has "
                             f"{len(variables)}")
            for i, v in enumerate(variables):
                key = f"{group}/{i:05d}"
                value = archive.array(key, tuple(v.shape))
                if value.dtype != _numpy_dtype(v.dtype, value.dtype):
                    archive.fail(f"array {key!r} has dtype {value.dtype}; the model's "
                                 f"{v.path!r} is {v.dtype}")
                values.append((v, value))
        step = _read_step_state(archive, meta["signature"], model, alive)
    for v, value in values:
        v.assign(value)
    if step is not None:
        model.pending_structure, model.rebuild_waste = step
    return meta["epoch"]


def _step_state(model) -> dict:
    """The arrays of the step's traced structure and the rebuild rule's waste."""
    arrays = {}
    num_ops = len(model.network.op_names)
    for cell_type, edges in model.network.traced_structure().items():
        traced = np.zeros((len(edges), num_ops), np.float32)
        for e, indices in enumerate(edges):
            traced[e, list(indices)] = 1.0
        arrays[f"step/traced_{cell_type}"] = traced
    arrays["step/rebuild_waste"] = np.asarray(int(model.rebuild_waste), np.int64)
    return arrays


def _read_step_state(archive: _Archive, signature: dict, model, alive: dict) -> tuple | None:
    """`(structure, waste)` from the optional `step/` arrays, or None without them.

    A traced structure must hold every op `alive` (per cell type, the checkpoint's masks)
    marks: the step computes all of them.
    """
    if "step/rebuild_waste" not in archive.members:
        return None
    cell_types = model.network.cell_types
    shape = (edge_count(signature["nodes"]), len(signature["ops"]))
    waste = archive.array("step/rebuild_waste", (), kinds="iu")
    if int(waste) < 0:
        archive.fail(f"step/rebuild_waste must be >= 0, not {int(waste)}")
    structure = {}
    for cell_type in cell_types:
        traced = archive.array(f"step/traced_{cell_type}", shape, kinds="biuf") > 0.5
        missing = np.argwhere(alive[cell_type] & ~traced)
        if missing.size:
            edge, op = (int(i) for i in missing[0])
            archive.fail(f"step/traced_{cell_type} leaves out the alive op {op} of edge "
                         f"{edge}: a step must compute every alive op")
        structure[cell_type] = tuple(tuple(int(i) for i in np.nonzero(row)[0])
                                     for row in traced)
    return structure, int(waste)
