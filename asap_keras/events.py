"""The versioned JSON-lines event schema shared by the search and the monitor."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

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
    "run_end": ("status", "epoch", "reason"),
}
RUN_STATUSES = ("finished", "stopped", "failed", "interrupted")


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


def decode(line: str) -> Event:
    """Decodes one log line into an `Event`.

    Raises:
        EventError: the line is not JSON, has another schema version, an unknown kind or
            misses fields. The message names what is wrong.
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise EventError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise EventError(f"not a JSON object. Received: {type(record).__name__}")
    version = record.pop("v", None)
    if version != SCHEMA_VERSION:
        raise EventError(f"unsupported schema version. Received: v={version!r}, "
                         f"expected {SCHEMA_VERSION}")
    kind = record.pop("kind", None)
    when = record.pop("time", None)
    if not isinstance(when, (int, float)) or isinstance(when, bool):
        raise EventError(f"missing or bad 'time'. Received: time={when!r}")
    _check(kind, record)
    return Event(kind=kind, time=float(when), data=record)


def _check(kind: Any, fields: dict) -> None:
    if kind not in REQUIRED_FIELDS:
        raise EventError(f"unknown event kind. Received: kind={kind!r}")
    missing = [name for name in REQUIRED_FIELDS[kind] if name not in fields]
    if missing:
        raise EventError(f"event {kind!r} misses fields {missing}")
    if kind == "run_end" and fields["status"] not in RUN_STATUSES:
        raise EventError(f"run_end status must be one of {RUN_STATUSES}. "
                         f"Received: status={fields['status']!r}")
