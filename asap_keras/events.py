"""The versioned JSON-lines event schema shared by the search and the monitor."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from asap_keras.errors import quote

SCHEMA_VERSION = 1

# Each kind with the fields it must carry (beyond `v`, `kind`, `time`).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "run_start": ("run", "config", "versions", "seed", "start_epoch"),
    "trace": ("epoch", "seconds", "live_ops"),
    "step": ("epoch", "step", "metrics"),
    "epoch": (
        "epoch", "temperature", "threshold", "grace", "sparsity", "entropy", "ops",
        "phi", "alive", "metrics", "epoch_seconds", "live_ops", "total_ops",
    ),
    "prune": ("epoch", "cell", "edge", "op", "weight", "threshold"),
    "train_epoch": ("epoch", "metrics", "epoch_seconds", "learning_rate", "drop_path"),
    "checkpoint": ("epoch", "path"),
    "genotype": ("epoch", "genotype"),
    "final_prune": ("epoch", "genotype", "val_accuracy", "val_loss", "live_ops", "total_ops"),
    "pareto": ("epoch", "genotype", "multiply_adds", "params", "val_accuracy", "entered"),
    "run_end": ("status", "epoch", "reason"),
}
RUN_STATUSES = ("finished", "stopped", "failed", "interrupted")

# The type of each field `decode` checks: every required field, and an optional one when it
# is present (fields added within version 1 are absent from older logs). Other fields pass
# unchecked. "number": finite, or null, which is how the writer stores NaN and inf (a
# diverged loss). "int": an integer, never a bool. "metrics": name -> number.
# "matrices"/"masks": cell type -> rows (one per edge) of numbers / of 0 and 1.
FIELD_TYPES: dict[str, dict[str, str]] = {
    "run_start": {"run": "str", "config": "object", "versions": "object", "seed": "int",
                  "start_epoch": "int", "strategy": "str", "replicas": "int",
                  "steps_per_epoch": "int", "image_shape": "ints", "class_names": "strs",
                  "run_kind": "str"},
    "trace": {"epoch": "int", "seconds": "number", "live_ops": "int", "reason": "str"},
    "step": {"epoch": "int", "step": "int", "metrics": "metrics"},
    "epoch": {"epoch": "int", "temperature": "number", "next_temperature": "number",
              "threshold": "number", "grace": "bool", "sparsity": "number",
              "entropy": "metrics", "ops": "strs", "phi": "matrices", "alive": "masks",
              "metrics": "metrics", "epoch_seconds": "number", "step_seconds": "number",
              "live_ops": "int", "total_ops": "int", "discrete": "bool",
              # Where op weights are not a distribution (GOLD's gates, NAP's alphas),
              # `entropy` is empty and `weight_entropy` (of |w| / sum |w| per edge) tells.
              "relaxation": "str", "weight_entropy": "metrics", "supernet_madds": "int",
              "lambda": "number"},
    "prune": {"epoch": "int", "step": "int", "cell": "str", "edge": "int", "op": "str",
              "weight": "number", "threshold": "number"},
    "train_epoch": {"epoch": "int", "metrics": "metrics", "epoch_seconds": "number",
                    "learning_rate": "number", "drop_path": "number"},
    "checkpoint": {"epoch": "int", "path": "str"},
    "genotype": {"epoch": "int", "genotype": "genotype"},
    "final_prune": {"epoch": "int", "genotype": "genotype", "val_accuracy": "number",
                    "val_loss": "number", "val_accuracy_before": "number",
                    "live_ops": "int", "total_ops": "int"},
    # GOLD-NAS: an epoch's cell, its evaluation network's cost, the supernet's accuracy.
    "pareto": {"epoch": "int", "genotype": "genotype", "multiply_adds": "int",
               "params": "int", "val_accuracy": "number", "entered": "bool",
               "front_size": "int", "stable_epochs": "int", "stable": "bool"},
    "run_end": {"status": "status", "epoch": "int", "reason": "str", "seconds": "number"},
}
# Integers a float holds exactly: epochs and counts far beyond any run, small enough to chart.
MAX_INT = 2**53
# Any integer in the line (config included); Python refuses more than 4300 digits itself.
MAX_ANY_INT = 2**63
# Deeper than any event the writer produces (a config value is 4 levels down).
MAX_DEPTH = 20
GENOTYPE_KEYS = ("normal", "normal_concat", "reduce", "reduce_concat")
# A genotype's cell topologies (asap_keras.space.topology, which this module does not import).
GENOTYPE_TOPOLOGIES = ("darts", "free")

class _LongInteger(str):
    """The digits of an integer too long to hold, kept so the error can say where it was."""


def _parse_int(digits: str) -> int | _LongInteger:
    # 20 characters hold any integer up to 2**63 with its sign; longer ones are refused
    # after parsing, by path (Python itself refuses more than 4300 digits, without one).
    return int(digits) if len(digits) <= 20 else _LongInteger(digits)


class EventError(ValueError):
    """A log line that is not a valid event of a known schema version."""


@dataclass(frozen=True)
class Event:
    """One decoded event: its kind, wall time and payload fields."""

    kind: str
    time: float
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _clean(value: Any) -> Any:
    """Makes a value JSON-safe: NaN and infinities become None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def encode(kind: str, when: float | None = None, **fields: Any) -> str:
    """Encodes one event as a single JSON line (without the newline).

    Args:
        kind: one of `REQUIRED_FIELDS`.
        when: the event's wall time (seconds since the epoch); now if omitted.
        **fields: the payload; every required field of `kind` must be present.

    Returns:
        The JSON text.

    Raises:
        EventError: unknown kind or missing fields.
    """
    _check(kind, fields)
    record = {"v": SCHEMA_VERSION, "kind": kind, "time": time.time() if when is None else when}
    record.update(_clean(fields))
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def decode(line: str | bytes) -> Event:
    """Decodes one log line into an `Event` whose fields have the types of `FIELD_TYPES`.

    Args:
        line: the line's text, or its bytes (UTF-8).

    Returns:
        The event; its "number" fields are finite floats or ints, or None (null).

    Raises:
        EventError: the line is not UTF-8 JSON, nests too deeply, holds a NaN or Infinity
            literal or an integer out of range, has another schema version, an unknown
            kind, misses fields or has a field of the wrong type. The message names the
            field.

    Example:

    >>> decode('{"v":1,"kind":"checkpoint","time":5,"epoch":0,"path":"a.npz"}')["path"]
    'a.npz'
    """
    record = _parse(line)
    if not isinstance(record, dict):
        raise EventError(f"not a JSON object. Received: {type(record).__name__}")
    kind = record.get("kind")
    _check_values(record, kind if isinstance(kind, str) and kind in REQUIRED_FIELDS else "")
    version = record.pop("v", None)
    if type(version) is not int or version != SCHEMA_VERSION:
        raise EventError(f"unsupported schema version: v must be the integer "
                         f"{SCHEMA_VERSION}. Received: v={quote(version)}")
    kind = record.pop("kind", None)
    when = record.pop("time", None)
    if not _is_number(when):
        raise EventError(f"missing or bad 'time': it must be a finite number. "
                         f"Received: time={quote(when)}")
    _check(kind, record)
    for name, type_name in FIELD_TYPES[kind].items():
        if name in record:
            _CHECKS[type_name](record[name], f"{kind}.{name}")
    if kind == "epoch":
        _check_epoch_shapes(record)
    return Event(kind=kind, time=float(when), data=record)


def _parse(line: str | bytes) -> Any:
    if isinstance(line, (bytes, bytearray)):
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError as err:
            raise EventError(f"not UTF-8 (byte {line[err.start]:#04x} at column "
                             f"{err.start + 1})") from None
    try:
        return json.loads(line, parse_int=_parse_int)
    except json.JSONDecodeError as err:
        raise EventError(f"not JSON ({err.msg} at column {err.colno})") from None
    except RecursionError:
        raise EventError(f"nested too deeply (at most {MAX_DEPTH} levels)") from None


def _check_values(record: dict, kind: str) -> None:
    """Refuses, anywhere in the line: deep nesting, NaN/Infinity literals, integers out of
    range and strings that are not Unicode (lone surrogates cannot be printed)."""
    stack = [(record, kind, 1)]
    while stack:
        value, path, depth = stack.pop()
        kind = type(value)
        if kind is dict or kind is list:
            if depth > MAX_DEPTH:
                raise EventError(f"nested too deeply (at most {MAX_DEPTH} levels). "
                                 f"Received: deeper values at {path}")
            items = value.items() if kind is dict else enumerate(value)
            stack.extend((v, _join(path, k), depth + 1) for k, v in items)
        elif kind is float and not math.isfinite(value):
            raise EventError(f"{path} is NaN, Infinity or beyond the float range; the log "
                             f"writes non-finite numbers as null. Received: {path}={value!r}")
        elif kind is _LongInteger or (kind is int and abs(value) > MAX_ANY_INT):
            raise EventError(f"{path} is an integer out of range (at most 2**63). "
                             f"Received: {path} of {len(str(value).lstrip('-'))} digits")
        elif kind is str and not value.isascii() and not _is_unicode(value):
            raise EventError(f"{path} holds a lone surrogate, not Unicode text. "
                             f"Received: {path}={quote(value)}")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _fail(path: str, expected: str, value: Any) -> EventError:
    name = path.split(".", 1)[-1]
    return EventError(f"{path} must be {expected}. Received: {name}={quote(value)}")


def _is_int(value: Any) -> bool:
    return type(value) is int and -MAX_INT <= value <= MAX_INT


def _is_number(value: Any) -> bool:
    if type(value) is float:
        return math.isfinite(value)
    return _is_int(value)


def _int(value, path):
    if not _is_int(value):
        raise _fail(path, "an integer (within ±2**53)", value)


def _number(value, path):
    if value is not None and not _is_number(value):
        raise _fail(path, "a finite number or null", value)


def _str(value, path):
    if type(value) is not str:
        raise _fail(path, "a string", value)


def _bool(value, path):
    if type(value) is not bool:
        raise _fail(path, "true or false", value)


def _object(value, path):
    if type(value) is not dict:
        raise _fail(path, "a JSON object", value)


def _list(value, path, check_item, what):
    if type(value) is not list:
        raise _fail(path, f"a list of {what}", value)
    for i, item in enumerate(value):
        check_item(item, f"{path}[{i}]")


def _ints(value, path):
    _list(value, path, _int, "integers")


def _strs(value, path):
    _list(value, path, _str, "strings")


def _metrics(value, path):
    _object(value, path)
    for name, number in value.items():
        _number(number, f"{path}.{name}")


def _status(value, path):
    if type(value) is not str or value not in RUN_STATUSES:
        raise _fail(path, f"one of {RUN_STATUSES}", value)


def _mask_bit(value, path):
    if type(value) is not int or value not in (0, 1):
        raise _fail(path, "0 or 1", value)


def _rows(value, path, check_item, what):
    """Cell type -> a list of equal-length rows (one per edge, one column per op)."""
    _object(value, path)
    for cell, rows in value.items():
        _list(rows, f"{path}.{cell}",
              lambda row, row_path: _list(row, row_path, check_item, what), f"rows of {what}")
        if len({len(row) for row in rows}) > 1:
            raise _fail(f"{path}.{cell}", "rows of one length (one column per op)",
                        [len(row) for row in rows])


def _matrices(value, path):
    _rows(value, path, _number, "numbers")


def _masks(value, path):
    _rows(value, path, _mask_bit, "0/1")


def _pair(value, path):
    if (type(value) is not list or len(value) != 2 or type(value[0]) is not str
            or not _is_int(value[1]) or value[1] < 0):
        raise _fail(path, "an [op, source] pair (a string, an integer >= 0)", value)


def _triple(value, path):
    if (type(value) is not list or len(value) != 3 or type(value[0]) is not str
            or not _is_int(value[1]) or not _is_int(value[2]) or not 0 <= value[1] < value[2]
            or value[2] < 2):
        raise _fail(path, "an [op, source, node] triple (a string, integers 0 <= source < "
                    "node, node >= 2)", value)


def _genotype(value, path):
    """`Genotype.to_dict`'s structure (what the monitor uses): DARTS, 2 `[op, source]` pairs
    per node, or `"topology": "free"`, `nodes` and any number of `[op, source, node]`."""
    _object(value, path)
    topology = value.get("topology", "darts")
    if type(topology) is not str or topology not in GENOTYPE_TOPOLOGIES:
        raise _fail(f"{path}.topology", f"one of {GENOTYPE_TOPOLOGIES}", topology)
    free = topology == "free"
    keys = GENOTYPE_KEYS + (("nodes",) if free else ())
    missing = [key for key in keys if key not in value]
    if missing:
        raise _fail(path, f"a genotype with keys {list(keys)} (misses {missing})", value)
    if free:
        _int(value["nodes"], f"{path}.nodes")
    for cell in ("normal", "reduce"):
        if free:
            _list(value[cell], f"{path}.{cell}", _triple, "[op, source, node] triples")
        else:
            _list(value[cell], f"{path}.{cell}", _pair, "[op, source] pairs")
            if len(value[cell]) % 2:
                raise _fail(f"{path}.{cell}", "2 [op, source] pairs per node (an even count)",
                            value[cell])
        _ints(value[f"{cell}_concat"], f"{path}.{cell}_concat")


_CHECKS = {"int": _int, "number": _number, "str": _str, "bool": _bool, "object": _object,
           "ints": _ints, "strs": _strs, "metrics": _metrics, "matrices": _matrices,
           "masks": _masks, "genotype": _genotype, "status": _status}


def _check_epoch_shapes(fields: dict) -> None:
    """`phi` and `alive` cover the same cell types with the same shape, one column per op."""
    phi, alive, ops = fields["phi"], fields["alive"], fields["ops"]
    if set(phi) != set(alive):
        raise EventError(f"epoch.phi and epoch.alive must have the same cell types. "
                         f"Received: {quote(sorted(phi))} and {quote(sorted(alive))}")
    for cell, rows in phi.items():
        mask = alive[cell]
        if len(rows) != len(mask) or any(len(row) != len(ops) for row in rows + mask):
            raise EventError(f"epoch.phi.{cell} and epoch.alive.{cell} must both have one "
                             f"row per edge and one column per op ({len(ops)}). Received: "
                             f"{_shape(rows)} and {_shape(mask)}")


def _shape(rows: list) -> str:
    return f"{len(rows)}x{len(rows[0])}" if rows else "0x0"


def _check(kind: Any, fields: dict) -> None:
    if not isinstance(kind, str) or kind not in REQUIRED_FIELDS:
        raise EventError(f"unknown event kind. Received: kind={quote(kind)}")
    missing = [name for name in REQUIRED_FIELDS[kind] if name not in fields]
    if missing:
        raise EventError(f"event {kind!r} misses fields {missing}")
    if kind == "run_end" and fields["status"] not in RUN_STATUSES:
        raise EventError(f"run_end status must be one of {RUN_STATUSES}. "
                         f"Received: status={quote(fields['status'])}")
