"""The break-even rebuild rule on chosen op counts (costs worked out by hand)."""

import pytest

from asap_keras.search.rebuild import BreakEven, dead_ops, measured_ratio, trace_share


def test_dead_ops():
    assert dead_ops(100, 100) == 0
    assert dead_ops(100, 25) == 75
    assert dead_ops(10, 12) == 0  # more alive than traced: nothing is wasted


def test_rebuild_is_due_exactly_at_break_even():
    rule = BreakEven(ratio=9.0)
    # 50 of 100 traced ops dead: a rebuild to 50 ops costs 9 * 50 = 450 op-steps; each step
    # wastes 50.
    for _ in range(8):
        rule.step(traced=100, live=50)
        assert not rule.due(traced=100, live=50)
    rule.step(traced=100, live=50)  # 9 steps: 450 op-steps wasted
    assert rule.waste == 450
    assert rule.due(traced=100, live=50)


def test_waste_counts_every_dead_op_of_every_step_and_a_rebuild_clears_it():
    rule = BreakEven(ratio=30.0)
    rule.step(traced=100, live=100)
    rule.step(traced=100, live=90)
    rule.step(traced=100, live=70)
    assert rule.waste == 0 + 10 + 30
    rule.rebuilt()
    assert rule.waste == 0
    rule.step(traced=70, live=70)
    assert rule.waste == 0


def test_never_due_without_dead_ops():
    rule = BreakEven(ratio=1.0)
    rule.waste = 10**9
    assert not rule.due(traced=100, live=100)


@pytest.mark.parametrize("ratio", [0, -1.0, float("nan")])
def test_a_ratio_must_be_positive(ratio):
    with pytest.raises(ValueError, match="ratio must be > 0"):
        BreakEven(ratio)


def _total(schedule, live, ratio):
    """Op-steps of a run of len(live) steps that rebuilds before the steps in `schedule`:
    a step costs one op-step per traced op, a rebuild `ratio` per op it traces."""
    traced, total = live[0], 0.0
    for i, alive in enumerate(live):
        if i in schedule:
            traced = alive
            total += ratio * alive
        total += traced
    return total


@pytest.mark.parametrize("ratio", [7.0, 40.0, 400.0])
def test_the_rule_is_within_twice_the_best_schedule_for_one_prune(ratio):
    # One prune from 300 to 60 live ops at step 5 of 400. The best schedule in hindsight
    # rebuilds at once or never (a brute force over every rebuild step); the rule pays at
    # most twice as much above the unavoidable compute, plus one step's waste.
    live = [300] * 5 + [60] * 395
    rule, traced, rebuilt_at = BreakEven(ratio), 300, set()
    for i, alive in enumerate(live):
        if rule.due(traced, alive):
            rebuilt_at.add(i)
            rule.rebuilt()
            traced = alive
        rule.step(traced, alive)
    floor = sum(live)  # every step at its live ops, no rebuild
    best = min(_total(s, live, ratio) for s in [set()] + [{i} for i in range(5, 400)])
    ours = _total(rebuilt_at, live, ratio)
    assert len(rebuilt_at) <= 1
    assert ours - floor <= 2 * (best - floor) + 240


def test_the_ratio_a_run_measures_from_its_first_batch_traces():
    traces = [
        {"epoch": 0, "seconds": 5.0, "reason": "start"},  # grace: the weight step only
        {"epoch": 1, "seconds": 11.0, "reason": "grace_end"},  # the architecture phase only
        {"epoch": 2, "seconds": 8.0, "reason": "epoch_end"},  # two in one epoch: mixed steps
        {"epoch": 2, "seconds": 6.0, "reason": "prune_fraction"},
        {"epoch": 3, "seconds": 4.0, "reason": "prune_cost"},  # mid-epoch: mixed steps
        {"epoch": 4, "seconds": 3.0, "reason": "epoch_end+grace_end"},  # (3 - .25) / .25 = 11
    ]
    epochs = [{"epoch": 0, "grace": True, "step_seconds": 0.2},
              {"epoch": 1, "grace": False, "step_seconds": 0.5},
              {"epoch": 2, "grace": False, "step_seconds": 0.4},
              {"epoch": 3, "grace": False, "step_seconds": 0.3},
              {"epoch": 4, "grace": False, "step_seconds": 0.25},
              {"epoch": 5, "grace": False, "step_seconds": None}]
    assert measured_ratio(traces, epochs) == pytest.approx(11)
    assert measured_ratio(traces[:1], epochs) is None  # only a grace epoch's trace
    assert measured_ratio(traces[:2], epochs) is None  # and grace_end's partial one
    resumed = [{"epoch": 1, "seconds": 11.0, "reason": "start"}]  # (11 - 0.5) / 0.5 = 21
    assert measured_ratio(resumed + traces[2:], epochs) == pytest.approx((21 + 11) / 2)
    # A test function's trace (validation, after the epoch's steps) is not the step's: it
    # leaves the epoch's one step trace measurable.
    validation = [{"epoch": 4, "seconds": 2.0, "reason": "validation"},
                  {"epoch": 1, "seconds": 2.0, "reason": "validation"}]
    assert measured_ratio(traces + validation, epochs) == pytest.approx(11)
    assert measured_ratio(resumed + validation, epochs) == pytest.approx(21)


def test_the_trace_share_sums_every_trace_over_every_session():
    traces = [{"seconds": 6.0, "reason": "start"}, {"seconds": 2.0, "reason": "validation"},
              {"seconds": 4.0, "reason": "start"}]  # the last one: a resumed session's
    ends = [{"status": "interrupted", "seconds": 30.0}, {"status": "finished", "seconds": 10.0}]
    assert trace_share(traces, ends) == (12.0, 40.0)
    assert trace_share(traces, []) is None  # no session ended yet
    assert trace_share(traces, [{"status": "failed", "seconds": None}]) is None
