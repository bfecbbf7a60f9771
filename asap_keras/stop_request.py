"""A stop request (SIGTERM, Ctrl-C) that a run honours even if the signal's exception is lost."""

from __future__ import annotations

import threading

_REQUESTED = threading.Event()


def request() -> None:
    """Records that the process was asked to stop."""
    _REQUESTED.set()


def requested() -> bool:
    """True once a stop was requested (until `clear`)."""
    return _REQUESTED.is_set()


def clear() -> None:
    """Forgets a request (a new command in the same process starts afresh)."""
    _REQUESTED.clear()
