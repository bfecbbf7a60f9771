"""Pareto records on hand-built points: non-dominated, one entry per genotype, replayable."""

import json
from itertools import permutations

from asap_keras import events
from asap_keras.search import pareto


def rec(epoch, cell, madds, accuracy):
    return pareto.Record(epoch, {"cell": cell}, madds, 10 * madds, accuracy)


def points(front):
    return [(r.multiply_adds, r.val_accuracy) for r in front]


def brute_force_non_dominated(front):
    """No member costs no more and is no less accurate than another, unless equal."""
    return not any(a is not b and a.multiply_adds <= b.multiply_adds
                   and a.val_accuracy >= b.val_accuracy
                   and (a.multiply_adds, a.val_accuracy) != (b.multiply_adds, b.val_accuracy)
                   for a in front for b in front)


def test_dominance_on_hand_built_points():
    a, b, c = rec(0, "a", 100, 0.5), rec(1, "b", 80, 0.6), rec(2, "c", 80, 0.5)
    assert pareto.dominates(b, a) and not pareto.dominates(a, b)
    assert pareto.dominates(b, c)  # same cost, more accurate
    assert not pareto.dominates(c, rec(3, "d", 80, 0.5))  # equal points: neither


def test_insert_keeps_the_non_dominated_records_sorted_by_cost():
    front, entered = pareto.insert((), rec(0, "a", 100, 0.5))
    assert entered and points(front) == [(100, 0.5)]
    front, entered = pareto.insert(front, rec(1, "b", 80, 0.6))  # beats a on both
    assert entered and points(front) == [(80, 0.6)]
    front, entered = pareto.insert(front, rec(2, "c", 60, 0.4))  # cheaper, worse
    assert entered and points(front) == [(60, 0.4), (80, 0.6)]
    front, entered = pareto.insert(front, rec(3, "d", 90, 0.55))  # b is better and cheaper
    assert not entered and points(front) == [(60, 0.4), (80, 0.6)]
    front, entered = pareto.insert(front, rec(4, "e", 60, 0.4))  # equal to c: both stay
    assert entered and points(front) == [(60, 0.4), (60, 0.4), (80, 0.6)]
    # Along the front, cost and accuracy rise together.
    front = pareto.insert(front, rec(5, "f", 120, 0.9))[0]
    costs, accuracies = zip(*points(front))
    assert list(costs) == sorted(costs) and list(accuracies) == sorted(accuracies)


def test_a_genotype_is_recorded_once():
    front = pareto.insert((), rec(0, "a", 100, 0.5))[0]
    front, entered = pareto.insert(front, rec(1, "a", 100, 0.5))
    assert not entered and [r.epoch for r in front] == [0]
    front, entered = pareto.insert(front, rec(2, "a", 100, 0.3))
    assert not entered and [r.epoch for r in front] == [0]
    front, entered = pareto.insert(front, rec(3, "a", 100, 0.7))  # the better measurement
    assert entered and [r.epoch for r in front] == [3]


def test_a_record_without_accuracy_never_enters():
    front, entered = pareto.insert((), rec(0, "a", 100, None))
    assert not entered and front == ()


def test_any_insertion_order_gives_the_same_non_dominated_set():
    candidates = [rec(0, "a", 100, 0.5), rec(1, "b", 80, 0.6), rec(2, "c", 60, 0.4),
                  rec(3, "d", 90, 0.55), rec(4, "e", 40, 0.1), rec(5, "f", 80, 0.2)]
    expected = {"b", "c", "e"}  # by hand: a, d dominated by b; f by b
    for order in permutations(candidates, 4):
        front = ()
        for candidate in order:
            front = pareto.insert(front, candidate)[0]
            assert brute_force_non_dominated(front)
    front = ()
    for candidate in candidates:
        front = pareto.insert(front, candidate)[0]
    assert {r.genotype["cell"] for r in front} == expected


def test_json_lists_the_entries_with_their_five_keys():
    front = pareto.insert(pareto.insert((), rec(0, "a", 100, 0.5))[0], rec(1, "b", 50, 0.4))[0]
    saved = json.loads(pareto.to_json(front))
    assert [entry["multiply_adds"] for entry in saved] == [50, 100]
    assert set(saved[0]) == {"epoch", "genotype", "multiply_adds", "params", "val_accuracy"}


def event(kind, **fields):
    return events.Event(kind, 0.0, fields)


def pareto_event(record):
    return event("pareto", **record.to_dict(), entered=True)


def test_replay_rebuilds_the_front_of_the_epochs_before_the_resume():
    a, b, c = rec(0, "a", 100, 0.5), rec(1, "b", 60, 0.4), rec(2, "c", 50, 0.45)
    log = [event("run_start", start_epoch=0), pareto_event(a), pareto_event(b),
           pareto_event(c)]
    # Resuming at epoch 2: c is redone, so the front is a and b.
    assert points(pareto.replay(log, 2)) == [(60, 0.4), (100, 0.5)]
    # A second session redid epoch 1 with another result: the first session's is void.
    redo = rec(1, "b2", 70, 0.6)
    log += [event("run_start", start_epoch=1), pareto_event(redo)]
    assert points(pareto.replay(log, 2)) == [(70, 0.6)]
