"""Hypothesis strategies: real logged events with a field replaced, dropped, nested or retyped."""

import json
from pathlib import Path

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOGS = {name: (FIXTURES / name).read_text().splitlines()
        for name in ("smoke_events.jsonl", "legacy_events.jsonl", "gold_events.jsonl")}
RECORDS = [json.loads(line) for lines in LOGS.values() for line in lines]
KINDS = sorted({record["kind"] for record in RECORDS})
ENVELOPE = ("v", "kind", "time")  # mutated by their own test; here only now and then

NASTY_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e300, -1e301,
                 5e-324, 0.0, -0.0, 2**53, 2**53 + 1, -(2**53), 2**63, 2**64, 10**30, -1, 0, 1,
                 True, False]
NASTY_STRINGS = ["", "NaN", "Infinity", "null", "1", "x" * 300, "a\x00b", "\x1b[2J", "\r",
                 "\u2028", "\ud800", "é", "failed", "epoch", "normal", "step"]
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                   st.text(max_size=8), st.sampled_from(NASTY_NUMBERS),
                   st.sampled_from(NASTY_STRINGS))
JSON_VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)
# A value of the same JSON type as the one it replaces: such lines often still decode, with
# values at the edges of what is valid (null numbers, extreme floats, odd strings).
SAME_TYPE = {
    float: st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                     st.sampled_from([1e308, -1e308, 1e300, -1e300, 5e-324, 0.0])),
    int: st.one_of(st.integers(-(2**53), 2**53), st.sampled_from([0, -1, 2**53, -(2**53)])),
    str: st.one_of(st.text(max_size=12), st.sampled_from(NASTY_STRINGS)),
    bool: st.booleans(),
    type(None): st.one_of(st.none(), st.floats(allow_nan=False)),
}


def paths(value, prefix=()):
    """Every path (a tuple of keys and indices) to a value inside `value`."""
    found = []
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        found.append(prefix + (key,))
        found.extend(paths(child, prefix + (key,)))
    return found


def _parent(record, path):
    node = record
    for key in path[:-1]:
        node = node[key]
    return node


ALL_OPERATIONS = ("same_type", "same_type", "replace", "drop", "nest", "null", "add")
# Changes after which a line often still decodes, with values at the edges of the schema.
MILD_OPERATIONS = ("same_type", "same_type", "same_type", "null", "add", "diverge")


@st.composite
def mutated_records(draw, max_mutations=3, operations=ALL_OPERATIONS):
    """A logged event (a dict) of any kind with 1 to `max_mutations` changes."""
    kind = draw(st.sampled_from(KINDS))
    record = draw(st.sampled_from([r for r in RECORDS if r["kind"] == kind]))
    return mutate(draw, record, max_mutations, operations)


def mutate(draw, record, max_mutations=3, operations=ALL_OPERATIONS):
    """A copy of `record` with 1 to `max_mutations` changes drawn with `draw`."""
    record = json.loads(json.dumps(record))
    for _ in range(draw(st.integers(1, max_mutations))):
        spots = paths(record)
        if draw(st.sampled_from(range(10))) != 5:
            spots = [p for p in spots if p[0] not in ENVELOPE]
        if draw(st.booleans()):  # a field itself, not a cell of a 14 x 8 matrix
            spots = [p for p in spots if len(p) == 1] or spots
        path = draw(st.sampled_from(spots)) if spots else None
        operation = draw(st.sampled_from(operations))
        if path is None or operation == "add":
            target = _parent(record, path) if path else record
            if isinstance(target, dict):
                target[draw(st.text(max_size=6))] = draw(JSON_VALUES)
            continue
        parent, key = _parent(record, path), path[-1]
        value = parent[key]
        if operation == "diverge":  # any share of the floats, anywhere, logged as null
            _nullify_floats(record, draw(st.randoms(use_true_random=False)))
        elif operation == "same_type" and type(value) in SAME_TYPE:
            parent[key] = draw(SAME_TYPE[type(value)])
        elif operation == "drop":
            del parent[key]
        elif operation == "nest":
            for _ in range(draw(st.integers(1, 25))):
                value = [value]
            parent[key] = value
        elif operation == "null":
            parent[key] = None
        else:
            parent[key] = draw(JSON_VALUES)
    return record


def _nullify_floats(value, rnd, share=None):
    share = rnd.random() if share is None else share
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, child in list(items):
        if key == "time":  # the envelope's time is no measured number: never null
            continue
        if type(child) is float and rnd.random() < share:
            value[key] = None
        else:
            _nullify_floats(child, rnd, share)


@st.composite
def mutated_lines(draw):
    """A mutated event as a log line, now and then cut short or with a character changed."""
    text = json.dumps(draw(mutated_records()), allow_nan=True)
    damage = draw(st.sampled_from(["none"] * 8 + ["cut", "byte"]))
    if damage == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif damage == "byte":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.characters()) + text[at + 1:]
    return text
