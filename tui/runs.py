"""Finds the runs a path names: a run directory, or every run directory below a folder."""

from __future__ import annotations

from pathlib import Path

EVENTS_FILE = "events.jsonl"
RUN_MARKERS = (EVENTS_FILE, "run.json", "config.resolved.toml")


class RunPathError(ValueError):
    """The path given to the monitor is not a directory."""


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a run directory (its log may not exist yet)."""
    return any((path / marker).exists() for marker in RUN_MARKERS)


def discover(path: str | Path, depth: int = 2) -> list[Path]:
    """The run directories at or below `path`, sorted by name.

    A directory that is no run and holds none is returned as itself: the monitor then waits
    for its log and says so.

    Raises:
        RunPathError: `path` is missing or not a directory.
    """
    root = Path(path)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise RunPathError(f"run directory {what}. Received: RUN_DIR={str(path)!r}")
    if is_run_dir(root):
        return [root]
    found, level = [], [root]
    for _ in range(depth):
        level = sorted(p for d in level for p in d.iterdir() if p.is_dir())
        found.extend(p for p in level if is_run_dir(p))
        level = [p for p in level if not is_run_dir(p)]
    return sorted(found) or [root]
