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
