"""Messages the follower thread posts to the app."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class EventsRead(Message):
    """New events (and bad lines) of one run's log, read in one poll.

    Args:
        run: index of the run in the app's run list.
        events: decoded events, in file order.
        errors: `LineError`s of lines that were skipped.
        reset: the log started over (truncated or replaced): fold from scratch.
        exists: whether the log file exists.
    """

    run: int
    events: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reset: bool = False
    exists: bool = True


@dataclass
class RunsFound(Message):
    """Run directories that appeared below the monitored folder since the last scan."""

    paths: list = field(default_factory=list)
