import numpy as np
import pytest

from asap_keras.config import load_config
from asap_keras.errors import ConfigError
from asap_keras.search import schedules


def test_temperature_anneals_exponentially():
    assert schedules.temperature(0, 1.3, 0.95) == pytest.approx(1.3)
    assert schedules.temperature(10, 1.3, 0.95) == pytest.approx(1.3 * 0.95 ** 10)
    with pytest.raises(ConfigError, match="beta"):
        schedules.temperature(1, 1.3, 1.5)


def test_the_shipped_paper_config_has_exactly_five_grace_epochs(configs_dir):
    # Sec. 4.1: "the first five epochs are grace-cycles". By hand, 1.3 * 0.95^e is
    # 1.300, 1.235, 1.173, 1.115, 1.059 for e = 0..4 and 1.006 for e = 5.
    cfg = load_config(configs_dir / "cifar10.toml").search.anneal
    assert (cfg.t0, cfg.beta) == (1.3, 0.95)
    assert schedules.grace_epochs(cfg.t0, cfg.beta, cfg.grace_temperature) == 5
    assert 1.006 < cfg.grace_temperature <= 1.059
    # With tau = 1.0 it would be six (T(5) = 1.006 >= 1): the bug this default fixes.
    assert schedules.grace_epochs(1.3, 0.95, 1.0) == 6
    assert not schedules.arch_steps_enabled(1.0, 1.0)
    assert schedules.arch_steps_enabled(0.99, 1.0)


def test_threshold_uses_the_candidate_count():
    assert schedules.threshold(7) == pytest.approx(0.4 / 7)
    assert schedules.threshold(8, 0.4) == pytest.approx(0.05)
    with pytest.raises(ConfigError):
        schedules.threshold(0)


def test_prune_removes_weak_ops_but_never_the_last():
    phi = np.array([[0.5, 0.45, 0.05], [0.0, 1.0, 0.0]])
    alive = np.array([[1, 1, 1], [0, 1, 0]])
    kept = schedules.prune(phi, alive, 0.1)
    np.testing.assert_array_equal(kept, [[1, 1, 0], [0, 1, 0]])
    # A pruned op never comes back, and an edge under theta everywhere keeps its best.
    kept = schedules.prune(np.array([[0.2, 0.3, 0.5]]), np.array([[0, 1, 1]]), 0.9)
    np.testing.assert_array_equal(kept, [[0, 0, 1]])


def test_is_discrete():
    assert schedules.is_discrete(np.eye(3))
    assert not schedules.is_discrete(np.array([[1, 1, 0], [0, 1, 0]]))


def test_zhu_gupta_targets_follow_eq_13():
    # By hand: s_t = s_f + (0 - s_f)(1 - (t - t0)/(E_f - t0))^p.
    s_f = 6 / 7
    assert schedules.zhu_gupta_sparsity(20, 20, 50, s_f, 3) == 0.0
    assert schedules.zhu_gupta_sparsity(5, 20, 50, s_f, 3) == 0.0  # nothing before t0
    assert schedules.zhu_gupta_sparsity(35, 20, 50, s_f, 3) == pytest.approx(s_f * (1 - 0.5 ** 3))
    assert schedules.zhu_gupta_sparsity(50, 20, 50, s_f, 3) == pytest.approx(s_f)
    assert schedules.zhu_gupta_sparsity(60, 20, 50, s_f, 3) == pytest.approx(s_f)
    for p in (1, 3):
        s = [schedules.zhu_gupta_sparsity(t, 20, 50, s_f, p) for t in range(15, 56)]
        assert s == sorted(s)
        steps = np.diff([schedules.zhu_gupta_sparsity(t, 20, 50, s_f, p) for t in range(20, 51)])
        if p == 1:
            np.testing.assert_allclose(steps, s_f / 30)  # a constant rate
        else:
            assert all(a >= b - 1e-12 for a, b in zip(steps, steps[1:]))  # a falling rate
    with pytest.raises(ConfigError, match="end must be > start"):
        schedules.zhu_gupta_sparsity(1, 5, 5, 0.5)


@pytest.mark.parametrize("power", [1, 3])
def test_zhu_gupta_counts_add_up_to_one_op_per_edge(power):
    n_ops, edges = 7, 14
    total, s_f = edges * n_ops, 1 - 1 / n_ops
    counts = [schedules.zhu_gupta_count(t, 2, 12, s_f, total, power) for t in range(0, 13)]
    assert counts[2] == 0 and counts[-1] == total - edges
    increments = np.diff(counts)
    real = np.diff([schedules.zhu_gupta_sparsity(t, 2, 12, s_f, power) * total
                    for t in range(0, 13)])
    assert (increments >= 0).all() and np.all(np.abs(increments - real) < 1)


def test_prune_lowest_ranks_over_edges_and_never_takes_the_last_op():
    scores = np.array([[0.1, 0.9, 0.5],
                       [0.2, 0.3, 0.05],
                       [0.0, 0.8, 0.7]])
    alive = np.array([[1, 1, 1], [1, 1, 1], [1, 0, 0]])  # edge 2 has one op left
    kept = schedules.prune_lowest(scores, alive, 3)
    # Lowest alive: (2,0)=0.0 is the last of its edge (skipped), then (1,2), (0,0), (1,0).
    np.testing.assert_array_equal(kept, [[0, 1, 1], [0, 1, 0], [1, 0, 0]])
    # Asking for more than can go leaves one op per edge.
    np.testing.assert_array_equal(schedules.prune_lowest(scores, alive, 100).sum(axis=1),
                                  [1, 1, 1])


def test_pac_schedule_by_hand():
    # With nu = 1/N, rho_t = 1 and theta_t = exp(-t) / N (Eqs. 7-8).
    n, eta_l, delta = 7, 3e-4, 0.05
    expected = eta_l * np.sqrt(8.0 / 4 * np.log(np.pi ** 2 * n * 16 / (3 * delta)))
    assert schedules.pac_temperature(4, n, eta_l, delta, 1 / n) == pytest.approx(expected)
    assert schedules.pac_threshold(3, 1 / n) == pytest.approx(np.exp(-3) / 7)
    assert schedules.pac_rho(5, n, 1 / n) == pytest.approx(1.0)
    # b_t = T_t / (2 rho_t) falls toward 0 (Claim 1).
    b = [schedules.pac_temperature(t, n, eta_l, delta, 1 / n) / 2 for t in (1, 10, 100, 10**4)]
    assert b == sorted(b, reverse=True) and b[-1] < b[0] / 20
    with pytest.raises(ConfigError, match="nu"):
        schedules.pac_temperature(1, n, eta_l, delta, 0.5)
    with pytest.raises(ConfigError, match="t counts alpha updates"):
        schedules.pac_threshold(0, 1 / n)
