"""The break-even rebuild rule on chosen timings (costs worked out by hand)."""

import pytest

from asap_keras.search.rebuild import BreakEven, dead_share


def test_dead_share():
    assert dead_share(100, 100) == 0.0
    assert dead_share(100, 25) == 0.75
    assert dead_share(0, 0) == 0.0
    assert dead_share(10, 12) == 0.0  # more alive than traced: nothing is wasted


def test_nothing_is_due_before_a_trace_and_a_steady_call_were_measured():
    rule = BreakEven()
    assert rule.rebuild_cost(live=10) is None
    rule.train_call(30.0, traced=100, live=10)  # the first call: the trace, no waste counted
    assert rule.waste == 0.0 and rule.rebuild_cost(live=10) is None
    assert not rule.due(traced=100, live=10)


def test_rebuild_is_due_exactly_at_break_even():
    rule = BreakEven()
    rule.train_call(10.0, traced=100, live=100)  # trace + step
    rule.train_call(1.0, traced=100, live=100)  # steady: trace cost (10 - 1) / 100 = 0.09/op
    # 50 ops die: a rebuild to 50 ops costs 0.09 * 50 = 4.5 s; each 1 s step wastes 0.5 s.
    for _ in range(8):
        rule.train_call(1.0, traced=100, live=50)
        assert not rule.due(traced=100, live=50)
    rule.train_call(1.0, traced=100, live=50)  # 9 steps: 4.5 s wasted
    assert rule.waste == pytest.approx(4.5)
    assert rule.due(traced=100, live=50)


def test_the_test_functions_trace_is_part_of_the_cost_and_its_calls_waste_too():
    rule = BreakEven()
    rule.train_call(10.0, traced=100, live=100)
    rule.train_call(1.0, traced=100, live=100)  # train trace: 0.09 s/op
    rule.test_call(3.2, traced=100, live=100)
    rule.test_call(0.2, traced=100, live=100)  # test trace: 0.03 s/op
    assert rule.rebuild_cost(live=40) == pytest.approx((0.09 + 0.03) * 40)
    rule.test_call(0.5, traced=100, live=40)
    assert rule.waste == pytest.approx(0.5 * 0.6)


def test_a_rebuild_starts_the_waste_again_and_keeps_the_last_measured_costs():
    rule = BreakEven()
    rule.train_call(10.0, traced=100, live=100)
    rule.train_call(1.0, traced=100, live=100)
    rule.train_call(1.0, traced=100, live=20)
    assert rule.waste > 0
    rule.rebuilt()
    assert rule.waste == 0.0
    assert rule.rebuild_cost(live=10) == pytest.approx(0.09 * 10)  # until re-measured
    rule.train_call(2.2, traced=20, live=20)  # the new structure's trace: (2.2 - 0.2) / 20
    rule.train_call(0.2, traced=20, live=20)
    assert rule.rebuild_cost(live=10) == pytest.approx(0.1 * 10)


def test_a_phase_flip_rebuild_keeps_the_test_functions_measurements():
    rule = BreakEven()
    rule.test_call(3.2, traced=100, live=100)
    rule.test_call(0.2, traced=100, live=100)
    rule.rebuilt(test=False)
    rule.test_call(0.2, traced=100, live=50)  # still steady: wastes half
    assert rule.waste == pytest.approx(0.1)


def test_never_due_without_dead_ops():
    rule = BreakEven()
    rule.train_call(10.0, traced=100, live=100)
    rule.train_call(1.0, traced=100, live=100)
    rule.waste = 1e9
    assert not rule.due(traced=100, live=100)


def _total(schedule, live, step, trace):
    """Seconds of a run of len(live) steps rebuilding before the steps in `schedule`, in
    the linear model: a step costs `step` per traced op, a rebuild `trace` per op."""
    traced, seconds = live[0], 0.0
    for i, alive in enumerate(live):
        if i in schedule:
            traced = alive
            seconds += trace * alive
        seconds += step * traced
    return seconds


@pytest.mark.parametrize("step,trace", [(0.001, 0.04), (0.008, 0.05), (0.0001, 0.05)])
def test_the_rule_is_within_twice_the_best_schedule_for_one_prune(step, trace):
    # One prune from 300 to 60 live ops at step 5 of 400: the best schedule in hindsight
    # rebuilds at once or never (a brute force over every rebuild step); the rule's run,
    # simulated with exact measurements, pays at most twice as much in excess of the
    # unavoidable compute.
    live = [300] * 5 + [60] * 395
    rule = BreakEven()
    rule.train_call(trace * 300 + step * 300, traced=300, live=300)
    rule.train_call(step * 300, traced=300, live=300)
    traced, rebuilt_at = 300, set()
    for i in range(2, len(live)):
        if rule.due(traced, live[i]):
            rebuilt_at.add(i)
            rule.rebuilt()
            traced = live[i]
            rule.train_call(trace * traced + step * traced, traced, live[i])
            continue
        rule.train_call(step * traced, traced, live[i])
    floor = _total(set(), live, step, 0.0) - 240 * step * 395  # every step at its live ops
    best = min(_total(s, live, step, trace) for s in [set()] + [{i} for i in range(5, 400)])
    ours = _total(rebuilt_at, live, step, trace)
    assert len(rebuilt_at) <= 1
    assert ours - floor <= 2 * (best - floor) + 240 * step  # + one step's waste: granularity
