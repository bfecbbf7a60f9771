"""Property tests of `events.decode`: any line gives an Event or an EventError, nothing else."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asap_keras import events
from tests.tui.event_mutations import JSON_VALUES, RECORDS, mutated_lines

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def decode_or_error(line):
    """The event, or None when `decode` refused the line with an EventError."""
    try:
        return events.decode(line)
    except events.EventError as err:
        assert str(err) and len(str(err)) < 400, "one short line"
        return None


def assert_re_encodes(event):
    """What decode accepts, the writer writes back to the same event."""
    assert events.decode(events.encode(event.kind, when=event.time, **event.data)) == event


@FUZZ
@given(mutated_lines())
def test_a_mutated_logged_event_decodes_or_is_refused(line):
    event = decode_or_error(line)
    if event is not None:
        assert_re_encodes(event)


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_bytes_or_text_decode_or_are_refused(raw):
    event = decode_or_error(raw)
    if event is not None:
        assert_re_encodes(event)


@FUZZ
@given(st.sampled_from(RECORDS), st.sampled_from(["v", "kind", "time"]), JSON_VALUES)
def test_a_bad_envelope_is_refused_unless_it_is_version_1(record, key, value):
    line = json.dumps({**record, key: value}, allow_nan=True)
    event = decode_or_error(line)
    if key == "v":
        assert (event is not None) == (type(value) is int and value == 1)
    elif key == "kind":
        assert event is None or value == record["kind"]
    else:  # the README: Unix seconds, a finite number
        finite = (type(value) is float and value - value == 0) or (
            type(value) is int and abs(value) <= 2**53)
        assert (event is not None) == finite
        if event is not None:
            assert event.time == value
