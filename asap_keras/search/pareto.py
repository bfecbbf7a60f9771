"""GOLD-NAS' Pareto records: the searched cells no other beats on both cost and accuracy."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Record:
    """One epoch's architecture: its genotype, evaluation-network cost and accuracy.

    Args:
        epoch: the epoch it was recorded after.
        genotype: the genotype's dict form.
        multiply_adds: the evaluation network's multiply-adds per image.
        params: its parameters.
        val_accuracy: the supernet's validation accuracy in that epoch (None: unknown).
    """

    epoch: int
    genotype: dict
    multiply_adds: int
    params: int
    val_accuracy: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def dominates(a: Record, b: Record) -> bool:
    """`a` costs no more and is no less accurate than `b`, and is strictly better in one."""
    return (a.multiply_adds <= b.multiply_adds and a.val_accuracy >= b.val_accuracy
            and (a.multiply_adds < b.multiply_adds or a.val_accuracy > b.val_accuracy))


def insert(front, record: Record) -> tuple[tuple[Record, ...], bool]:
    """The front with `record` offered: `(new front, whether record entered it)`.

    A record no member dominates enters and removes those it dominates. A genotype already
    on the front is held once: a later record of it replaces the member only with a higher
    accuracy. A record without an accuracy never enters. The front is sorted by
    multiply-adds (then accuracy, highest first, then epoch), so along it both rise.

    Args:
        front: a non-dominated sequence of `Record`s.
        record: the candidate.
    """
    front = tuple(front)
    if record.val_accuracy is None:
        return front, False
    same = [member for member in front if member.genotype == record.genotype]
    if same and same[0].val_accuracy >= record.val_accuracy:
        return front, False
    rest = [member for member in front if member.genotype != record.genotype]
    if any(dominates(member, record) for member in rest):
        return front, False
    kept = [member for member in rest if not dominates(record, member)] + [record]
    kept.sort(key=lambda r: (r.multiply_adds, -r.val_accuracy, r.epoch))
    return tuple(kept), True


def to_json(front) -> str:
    """`pareto.json`: a list of `{"epoch", "genotype", "multiply_adds", "params",
    "val_accuracy"}`, sorted by multiply-adds."""
    return json.dumps([record.to_dict() for record in front], indent=2) + "\n"


def replay(events, before_epoch: int) -> tuple[Record, ...]:
    """The front rebuilt from a log's `pareto` events of the epochs before `before_epoch`.

    A `run_start` (a resume) voids what earlier sessions logged for the epochs it redoes,
    as every reader of the log folds it; the surviving candidates are offered in epoch
    order, which gives the front an uninterrupted search would hold.

    Args:
        events: decoded `events.Event`s in log order.
        before_epoch: the epoch the resumed search starts at.
    """
    candidates = {}
    for event in events:
        if event.kind == "run_start":
            start = int(event["start_epoch"])
            candidates = {e: r for e, r in candidates.items() if e < start}
        elif event.kind == "pareto":
            data = event.data
            candidates[int(data["epoch"])] = Record(
                int(data["epoch"]), data["genotype"], int(data["multiply_adds"]),
                int(data["params"]), data["val_accuracy"])
    front = ()
    for epoch in sorted(e for e in candidates if e < before_epoch):
        front, _ = insert(front, candidates[epoch])
    return front
