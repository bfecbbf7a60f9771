"""Appends events to a run's events.jsonl, one flushed line each."""

from __future__ import annotations

from pathlib import Path

from asap_keras import events


class EventLog:
    """An append-only writer of `events.jsonl`; resuming appends to the same file.

    Args:
        path: the log file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = open(self.path, "a", encoding="utf-8")

    def emit(self, kind: str, **fields) -> None:
        """Writes one event and flushes it, so a follower sees whole lines."""
        self._file.write(events.encode(kind, **fields) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
