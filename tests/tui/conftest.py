"""Monitor fixtures: a recorded log of a real tiny search, copied into fresh run directories."""

import shutil
import time
from pathlib import Path

import pytest

from asap_keras import events

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RECORDED = FIXTURES / "smoke_events.jsonl"


def recorded_events():
    return [events.decode(line) for line in RECORDED.read_text().splitlines()]


def recorded_lines_ending_now() -> list[str]:
    """The recorded log's lines, shifted in time so its last event happened just now."""
    evts = recorded_events()
    shift = time.time() - evts[-1].time
    return [events.encode(e.kind, when=e.time + shift, **e.data) + "\n" for e in evts]


@pytest.fixture
def recorded_run(tmp_path):
    """A finished run directory holding the recorded log."""
    run = tmp_path / "smoke-20261123-120000"
    run.mkdir()
    shutil.copy(RECORDED, run / "events.jsonl")
    (run / "run.json").write_text("{}")
    return run


def diverged_lines(from_epoch: int, shift: float = 0.0) -> list[str]:
    """The recorded log as a search whose losses and T went NaN from `from_epoch` on.

    The writer (`events.encode`) turns the NaNs into null, as a diverged search logs them.
    """
    nan = float("nan")
    out = []
    for event in recorded_events():
        data = dict(event.data)
        if event.kind in ("epoch", "step") and event["epoch"] >= from_epoch:
            data["metrics"] = {k: nan if "loss" in k else v for k, v in data["metrics"].items()}
            if event.kind == "epoch":
                data["temperature"] = nan
        out.append(events.encode(event.kind, when=event.time + shift, **data) + "\n")
    return out
