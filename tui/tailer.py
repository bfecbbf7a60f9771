"""Follows a growing events.jsonl: complete lines only, restarts on truncation or replacement."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from asap_keras import events as events_lib

# One poll reads at most this much, so a huge finished log is folded in slices, not one stall.
MAX_READ_BYTES = 4 << 20
# A longer line is no event the search writes (an epoch event of a large space is ~100 KiB);
# it is reported and skipped rather than buffered until memory runs out.
MAX_LINE_BYTES = 16 << 20
# A file truncated and rewritten past the old offset between two polls keeps its size
# growing; its first bytes changing is what tells.
HEAD_BYTES = 256
# Lines end with \n, \r\n or a lone \r (a log copied through an old Mac tool, or a terminal).
LINE_END = re.compile(rb"\r\n|\r|\n")
MESSAGE_CHARS = 200


@dataclass(frozen=True)
class LineError:
    """A log line that could not be decoded: its 1-based line number (0: the whole file could
    not be read) and why."""

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

    A partial last line (the writer is mid-line) is kept until its line end arrives; a line
    longer than `MAX_LINE_BYTES` is reported once and dropped. When the file shrinks
    (truncated) or its inode changes (replaced, e.g. a restarted run), the next poll reads it
    again from the start and says so with `reset=True`. No line makes `poll` raise.

    Args:
        path: the events file; it may not exist yet.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._read_error = ""
        self._restart(None)

    def poll(self) -> TailBatch:
        """Returns the events of the lines completed since the previous poll."""
        try:
            stat = os.stat(self.path)
            handle = open(self.path, "rb")
        except FileNotFoundError:  # also when it vanished between stat and open
            reset = self._identity is not None
            self._restart(None)
            return TailBatch(reset=reset, exists=False)
        except OSError as err:  # unreadable (permissions, a directory): said once, retried
            message = f"cannot read the log: {err.strerror or err}"
            errors = [] if message == self._read_error else [LineError(0, message)]
            self._read_error = message
            return TailBatch(errors=errors)
        self._read_error = ""
        identity = (stat.st_dev, stat.st_ino)
        with handle:
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
        events, errors = self._lines(chunk)
        return TailBatch(events, errors, reset, more=len(chunk) == MAX_READ_BYTES)

    def _lines(self, chunk: bytes) -> tuple[list, list]:
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the \n of a \r\n that the previous read split
            self._after_cr = False
        if chunk:
            self._after_cr = chunk.endswith(b"\r")
        lines = LINE_END.split(self._pending + chunk)
        self._pending = lines.pop()
        events, errors = [], []
        for raw in lines:
            self._line_no += 1
            if self._overlong:  # the end of a line already reported
                self._overlong = False
            elif len(raw) > MAX_LINE_BYTES:
                errors.append(LineError(self._line_no, _too_long(len(raw), False)))
            elif raw.strip():
                try:
                    events.append(events_lib.decode(raw))
                except events_lib.EventError as err:
                    errors.append(LineError(self._line_no, str(err)[:MESSAGE_CHARS]))
                except Exception as err:  # a decoder bug must not stop the follower thread
                    errors.append(LineError(self._line_no, f"{type(err).__name__}: "
                                                           f"{str(err)[:MESSAGE_CHARS]}"))
        if len(self._pending) > MAX_LINE_BYTES:
            if not self._overlong:
                errors.append(LineError(self._line_no + 1, _too_long(len(self._pending), True)))
            self._overlong = True
            self._pending = b""
        return events, errors

    @property
    def has_partial_line(self) -> bool:
        """Whether bytes after the last line end are waiting for the rest of their line."""
        return bool(self._pending) or self._overlong

    def _restart(self, identity) -> None:
        self._identity = identity
        self._offset = 0
        self._pending = b""
        self._line_no = 0
        self._head = b""
        self._after_cr = False
        self._overlong = False


def _too_long(size: int, partial: bool) -> str:
    return (f"line longer than {MAX_LINE_BYTES >> 20} MiB skipped. "
            f"Received: {size} bytes{' so far' if partial else ''}")
