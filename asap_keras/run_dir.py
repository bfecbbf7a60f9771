"""The run directory: its layout, creation, and what a run leaves in it."""

from __future__ import annotations

import json
import os
import platform
import stat
import time
from pathlib import Path

from asap_keras.errors import RunDirError

CONFIG_FILE = "config.resolved.toml"
RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
GENOTYPE_FILE = "genotype.json"
MODEL_FILE = "model.keras"  # a training run's model, saved after each epoch
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"

# Bounds of the JSON files a run holds (run.json, genotype.json, results.json): the largest
# real one is run.json with the class names, far below these.
MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 64


def atomic_write_text(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to a temporary file beside `path`, syncs it, then renames it over.

    On any failure the temporary file is removed and `path` is left as it was.

    Raises:
        OSError: the folder is missing or not writable, or `path` is a directory.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the original error says more than this one
        raise


def read_regular_file(path: Path, error: type[Exception] = RunDirError,
                      max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a regular file, never blocking on a FIFO or reading a device.

    Args:
        path: the file.
        error: the exception type to raise (an `AsapError` subclass).
        max_bytes: the largest size accepted.

    Raises:
        error: missing, unreadable, not a regular file, or larger than `max_bytes`.
    """
    path = Path(path)
    name = path.name or "the path"
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{name} not found. Received: {str(path)!r}") from None
    except (OSError, ValueError) as err:
        raise error(f"cannot open {name} ({getattr(err, 'strerror', None) or err}). "
                    f"Received: {str(path)!r}") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        raise error(f"{name} is not a regular file. Received: {str(path)!r}")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as err:
            raise error(f"cannot read {name} ({err.strerror or err}). "
                        f"Received: {str(path)!r}") from None
    if len(data) > max_bytes:
        raise error(f"{name} is larger than {max_bytes} bytes. Received: {str(path)!r}")
    return data


def _depth(value) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((v, depth + 1) for v in
                             (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json_object(path: Path, error: type[Exception] = RunDirError,
                     max_bytes: int = MAX_JSON_BYTES) -> dict:
    """A JSON file that must hold an object: `run.json`, `genotype.json`, `results.json`.

    Any input gives the object or one line naming the file: missing, not a regular file,
    too large, not UTF-8, not JSON, nested deeper than `MAX_JSON_DEPTH`, or not an object.

    Args:
        path: the file.
        error: the exception type to raise (an `AsapError` subclass).
        max_bytes: the largest file accepted.

    Raises:
        error: as above.
    """
    path = Path(path)
    data = read_regular_file(path, error, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{path.name} is not UTF-8 text (byte {err.start}: "
                    f"{data[err.start:err.start + 4]!r}). Received: {str(path)!r}") from None
    deep = error(f"{path.name} nests deeper than {MAX_JSON_DEPTH} levels. "
                 f"Received: {str(path)!r}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise deep from None
    except ValueError as err:  # JSONDecodeError, or an integer of over 4300 digits
        raise error(f"{path.name} is not valid JSON ({str(err).splitlines()[0][:80]}). "
                    f"Received: {str(path)!r}") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise deep
    if not isinstance(value, dict):
        raise error(f"{path.name} must hold a JSON object. Received: "
                    f"{type(value).__name__} in {str(path)!r}")
    return value


def versions() -> dict:
    """Versions of Python and the libraries a run depends on."""
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in ("asap-keras", "tensorflow", "keras", "tensorflow-datasets", "numpy"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


def create_run_dir(runs_dir: str | Path, name: str, config_text: str, info: dict) -> Path:
    """Creates `runs_dir/<name>-<time>/` with the resolved config and `run.json`.

    Raises:
        RunDirError: the directory cannot be created.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(runs_dir) / f"{name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    try:
        (path / CHECKPOINT_DIR).mkdir(parents=True)
    except OSError as err:
        raise RunDirError(f"cannot create the run directory. Received: {str(path)!r} "
                          f"({err.strerror})") from None
    atomic_write_text(path / CONFIG_FILE, config_text)
    atomic_write_text(path / RUN_FILE, json.dumps({**info, "versions": versions(),
                                                   "created": time.time()}, indent=2))
    return path


def open_run_dir(path: str | Path) -> Path:
    """Checks that `path` is a run directory (it has a resolved config).

    Raises:
        RunDirError: missing directory or config.
    """
    path = Path(path)
    try:
        found = stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):  # missing, a name too long, a file on the way
        found = False
    if not found:
        raise RunDirError(f"run directory not found. Received: {str(path)!r}")
    if not (path / CONFIG_FILE).is_file():
        raise RunDirError(f"not a run directory (no {CONFIG_FILE}). Received: {str(path)!r}")
    return path


def read_run_info(path: Path) -> dict:
    """The run's `run.json` (kind, seed, genotype, ...).

    Raises:
        RunDirError: the file is missing, unreadable, or not a JSON object.
    """
    info_file = Path(path) / RUN_FILE
    if not os.path.lexists(info_file):
        raise RunDirError(f"not a run directory (no {RUN_FILE}). Received: {str(path)!r}")
    return read_json_object(info_file)
