import json

import pytest

from asap_keras import events


def test_round_trip_and_nan_becomes_null():
    line = events.encode("step", when=5.0, epoch=1, step=10,
                         metrics={"loss": float("nan"), "accuracy": 0.5})
    assert "\n" not in line
    event = events.decode(line)
    assert event.kind == "step" and event.time == 5.0
    assert event["metrics"] == {"loss": None, "accuracy": 0.5}


@pytest.mark.parametrize("line, message", [
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"v": 99, "kind": "step", "time": 1}), "schema version"),
    (json.dumps({"v": 1, "kind": "nope", "time": 1}), "unknown event kind"),
    (json.dumps({"v": 1, "kind": "step", "time": 1, "epoch": 0}), "misses fields"),
    (json.dumps({"v": 1, "kind": "step", "epoch": 0}), "time"),
])
def test_bad_lines_are_rejected_with_a_reason(line, message):
    with pytest.raises(events.EventError, match=message):
        events.decode(line)


def test_encode_checks_required_fields_and_status():
    with pytest.raises(events.EventError, match="misses"):
        events.encode("prune", epoch=1)
    with pytest.raises(events.EventError, match="status"):
        events.encode("run_end", status="weird", epoch=0, reason="")
