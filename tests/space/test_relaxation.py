import numpy as np
import pytest

from asap_keras.errors import ConfigError
from asap_keras.space import relaxation


def test_weights_sum_to_one_over_alive_ops_and_dead_ops_are_zero():
    rng = np.random.default_rng(0)
    alpha = rng.normal(size=(14, 7))
    alive = rng.random((14, 7)) > 0.4
    alive[np.arange(14), rng.integers(0, 7, 14)] = True
    phi = relaxation.op_weights(alpha, 0.7, alive)
    np.testing.assert_allclose(phi.sum(axis=1), 1.0)
    assert (phi[~alive] == 0).all() and (phi[alive] > 0).all()


def test_low_temperature_approaches_one_hot():
    alpha = np.array([[0.1, 0.3, 0.2]])
    phi = relaxation.op_weights(alpha, 1e-4)
    assert phi[0, 1] == pytest.approx(1.0) and phi.sum() == pytest.approx(1.0)
    high = relaxation.op_weights(alpha, 1e4)
    np.testing.assert_allclose(high, 1 / 3, atol=1e-4)


def test_an_edge_with_no_alive_op_weighs_zero():
    # A final prune removes edges: their row is all zeros, the others sum to 1.
    phi = relaxation.op_weights([[0.0, 1.0], [2.0, 2.0]], 1.0, [[0, 0], [1, 1]])
    np.testing.assert_array_equal(phi, [[0.0, 0.0], [0.5, 0.5]])


def test_single_alive_op_has_weight_one():
    phi = relaxation.op_weights([[5.0, -3.0, 1.0]], 0.5, [[0, 1, 0]])
    np.testing.assert_array_equal(phi, [[0.0, 1.0, 0.0]])


def test_bad_inputs():
    with pytest.raises(ConfigError, match="temperature"):
        relaxation.op_weights([[0.0]], 0.0)
    with pytest.raises(ConfigError, match="shape"):
        relaxation.op_weights([[0.0, 1.0]], 1.0, [[1, 1, 1]])


def test_entropy_bounds():
    uniform = np.full((3, 7), 1 / 7)
    np.testing.assert_allclose(relaxation.normalized_entropy(uniform), 1.0)
    one_hot = np.eye(7)[:3]
    np.testing.assert_allclose(relaxation.normalized_entropy(one_hot), 0.0)


def test_full_weights_are_the_softmax_over_every_candidate():
    alpha = np.array([[1.0, 0.5, -0.5], [0.0, 0.0, 0.0]])
    z = alpha / 0.5
    direct = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(relaxation.log_full_weights(alpha, 0.5)), direct)
    # Near 1.0 the log form still separates what float64 softmax rounds to 1.0.
    close = relaxation.log_full_weights([[40.0, 0.0], [45.0, 0.0]], 1.0)[:, 0]
    assert -np.exp(-40.0) == pytest.approx(close[0]) and close[1] > close[0]
    with pytest.raises(ConfigError, match="temperature"):
        relaxation.log_full_weights([[0.0, 1.0]], 0.0)


def test_state_weights_per_cell_type_use_the_state_temperature_and_masks():
    alpha = {"normal": np.array([[1.0, 2.0]]), "reduce": np.array([[0.0, 0.0]])}
    alive = {"normal": np.array([[True, False]]), "reduce": np.array([[True, True]])}
    phi = relaxation.state_weights({"alpha": alpha, "alive": alive, "temperature": 2.0})
    np.testing.assert_array_equal(phi["normal"], [[1.0, 0.0]])
    np.testing.assert_allclose(phi["reduce"], [[0.5, 0.5]])
