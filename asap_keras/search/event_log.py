"""Appends events to a run's events.jsonl, one flushed line each."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

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


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM after its `run_end` was written.

    Args:
        run_path: the run directory, to continue with `--resume`.
    """

    def __init__(self, run_path, message=""):
        super().__init__(message)
        self.run_path = Path(run_path)


@dataclass
class RunOutcome:
    """How a run ended; the body of `ends_run` sets it to finished on success."""

    status: str = "failed"
    reason: str = ""

    def finish(self, reason: str) -> None:
        self.status, self.reason = "finished", reason


@contextmanager
def ends_run(log: EventLog, epoch_of: Callable[[], int]) -> Iterator[RunOutcome]:
    """Writes `run_end` however the body leaves (finished, interrupted, failed), then closes.

    Args:
        log: the run's log.
        epoch_of: called at the end for the event's `epoch` (a closure over the runner's
            progress, read when the run ends).
    """
    outcome, started = RunOutcome(), time.time()
    try:
        yield outcome
    except KeyboardInterrupt as err:
        outcome.status, outcome.reason = "interrupted", "KeyboardInterrupt"
        raise RunInterrupted(log.path.parent, str(err)) from err
    except Exception as err:
        outcome.status, outcome.reason = "failed", f"{type(err).__name__}: {err}"
        raise
    finally:
        log.emit("run_end", status=outcome.status, epoch=epoch_of(), reason=outcome.reason,
                 seconds=time.time() - started)
        log.close()
