"""Follows a growing events.jsonl: complete lines only, restarts on truncation or replacement."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from asap_keras import events as events_lib

# One poll reads at most this much, so a huge finished log is folded in slices, not one stall.
MAX_READ_BYTES = 4 << 20
# A file truncated and rewritten past the old offset between two polls keeps its size
# growing; its first bytes changing is what tells.
HEAD_BYTES = 256


@dataclass(frozen=True)
class LineError:
    """A log line that could not be decoded: its 1-based line number and why."""

    line: int
    message: str


@dataclass(frozen=True)
class TailBatch:
    """What one poll found: decoded events, bad lines, whether the file started over, and
    whether more was left to read than one poll takes."""

    events: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reset: bool = False
    exists: bool = True
    more: bool = False


class Tailer:
    """Reads the complete lines appended to a file since the last poll.

    A partial last line (the writer is mid-line) is kept until its newline arrives. When the
    file shrinks (truncated) or its inode changes (replaced, e.g. a restarted run), the next
    poll reads it again from the start and says so with `reset=True`.

    Args:
        path: the events file; it may not exist yet.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._identity = None
        self._pending = b""
        self._line_no = 0
        self._head = b""

    def poll(self) -> TailBatch:
        """Returns the events of the lines completed since the previous poll."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            reset = self._identity is not None
            self._restart(None)
            return TailBatch(reset=reset, exists=False)
        identity = (stat.st_dev, stat.st_ino)
        with open(self.path, "rb") as handle:
            reset = self._identity is not None and (
                identity != self._identity or stat.st_size < self._offset
                or handle.read(len(self._head)) != self._head)
            if self._identity != identity or reset:
                self._restart(identity)
            if stat.st_size == self._offset:
                return TailBatch(reset=reset)
            handle.seek(self._offset)
            chunk = handle.read(MAX_READ_BYTES)
        if len(self._head) < HEAD_BYTES:
            self._head = (self._head + chunk)[:HEAD_BYTES]
        self._offset += len(chunk)
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        events, errors = [], []
        for raw in lines:
            self._line_no += 1
            if not raw.strip():
                continue
            try:
                events.append(events_lib.decode(raw.decode("utf-8")))
            except (events_lib.EventError, UnicodeDecodeError) as err:
                errors.append(LineError(self._line_no, str(err)))
        return TailBatch(events, errors, reset, more=len(chunk) == MAX_READ_BYTES)

    @property
    def has_partial_line(self) -> bool:
        """Whether bytes after the last newline are waiting for the rest of their line."""
        return bool(self._pending)

    def _restart(self, identity) -> None:
        self._identity = identity
        self._offset = 0
        self._pending = b""
        self._line_no = 0
        self._head = b""
