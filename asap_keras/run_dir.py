"""The run directory: its layout, creation, and what a run leaves in it."""

from __future__ import annotations

import json
import os
import platform
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


def atomic_write_text(path: Path, text: str) -> None:
    """Writes `text` to a temporary file beside `path`, syncs it, then renames it over."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
    if not path.is_dir():
        raise RunDirError(f"run directory not found. Received: {str(path)!r}")
    if not (path / CONFIG_FILE).is_file():
        raise RunDirError(f"not a run directory (no {CONFIG_FILE}). Received: {str(path)!r}")
    return path


def read_run_info(path: Path) -> dict:
    """The run's `run.json` (kind, seed, genotype, ...).

    Raises:
        RunDirError: the file is missing or not a JSON object.
    """
    info_file = Path(path) / RUN_FILE
    try:
        info = json.loads(info_file.read_text())
    except FileNotFoundError:
        raise RunDirError(f"not a run directory (no {RUN_FILE}). Received: {str(path)!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunDirError(f"{RUN_FILE} is not valid JSON ({err}). Received: "
                          f"{str(info_file)!r}") from None
    if not isinstance(info, dict):
        raise RunDirError(f"{RUN_FILE} must hold a JSON object. Received: {str(info_file)!r}")
    return info
