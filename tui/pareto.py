"""GOLD-NAS' Pareto records as the monitor folds them: the front and the dominated rest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParetoPoint:
    """One `pareto` event: an epoch's cell, its evaluation network's cost, its accuracy.

    `val_accuracy` is None where the log has null (the search then keeps it off the front);
    `front_size` and `stable` are None in a log that lacks them.
    """

    epoch: int
    multiply_adds: int
    params: int
    val_accuracy: float | None
    entered: bool
    genotype: dict
    front_size: int | None = None
    stable: bool | None = None


def dominates(a: ParetoPoint, b: ParetoPoint) -> bool:
    """`a` costs no more and is no less accurate than `b`, and is strictly better in one."""
    return (a.multiply_adds <= b.multiply_adds and a.val_accuracy >= b.val_accuracy
            and (a.multiply_adds < b.multiply_adds or a.val_accuracy > b.val_accuracy))


def front(points: list[ParetoPoint]) -> list[ParetoPoint]:
    """The records on the front after every one of `points` was offered in epoch order.

    The search's rule (`asap_keras.search.pareto.insert`, which the monitor does not
    import): a record without an accuracy never enters; a genotype already on the front is
    held once, replaced only by a more accurate record of it; a record no other member
    dominates enters and removes those it dominates.

    Args:
        points: the run's records (one per epoch).

    Returns:
        The front, sorted by multiply-adds (then accuracy, highest first, then epoch).
    """
    members: list[ParetoPoint] = []
    for point in sorted(points, key=lambda p: p.epoch):
        if point.val_accuracy is None:
            continue
        same = [m for m in members if m.genotype == point.genotype]
        if same and same[0].val_accuracy >= point.val_accuracy:
            continue
        rest = [m for m in members if m.genotype != point.genotype]
        if any(dominates(m, point) for m in rest):
            continue
        members = [m for m in rest if not dominates(point, m)] + [point]
    return sorted(members, key=lambda p: (p.multiply_adds, -p.val_accuracy, p.epoch))
