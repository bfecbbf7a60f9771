"""run_end is written however a run leaves, and the log is closed."""

import contextlib

import pytest

from asap_keras import events
from asap_keras.search.event_log import EventLog, ends_run


def last_event(path):
    return events.decode(path.read_text().splitlines()[-1])


@pytest.mark.parametrize("raised, status, reason", [
    (None, "finished", "epoch_cap"),
    (KeyboardInterrupt(), "interrupted", "KeyboardInterrupt"),
    (ValueError("bad"), "failed", "ValueError: bad"),
])
def test_ends_run_writes_run_end(tmp_path, raised, status, reason):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    epoch = 0
    with pytest.raises(type(raised)) if raised else contextlib.nullcontext():
        with ends_run(log, lambda: epoch) as outcome:
            epoch = 3
            if raised:
                raise raised
            outcome.finish("epoch_cap")
    end = last_event(path)
    assert (end["status"], end["reason"], end["epoch"]) == (status, reason, 3)
    assert log._file.closed

