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


def test_sigmoid_gates_are_independent_and_need_not_sum_to_one():
    alpha = np.array([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    gates = relaxation.gate_weights(alpha, [[1, 1, 1], [1, 0, 0]])
    expected = 1.0 / (1.0 + np.exp(-alpha[0]))  # the logistic function, per op
    np.testing.assert_allclose(gates[0], expected)
    np.testing.assert_array_equal(gates[1], [0.5, 0.0, 0.0])  # a lone op keeps its 0.5
    moved = alpha.copy()
    moved[0, 1] += 3.0
    changed = relaxation.gate_weights(moved) != relaxation.gate_weights(alpha)
    np.testing.assert_array_equal(changed, [[False, True, False], [False, False, False]])
    big = relaxation.gate_weights([[800.0, -800.0]])  # no overflow warning
    np.testing.assert_array_equal(big, [[1.0, 0.0]])


def test_identity_weights_are_alpha_itself():
    alpha = np.array([[0.125, -0.5, 3.0]])
    np.testing.assert_array_equal(relaxation.identity_weights(alpha, [[1, 1, 0]]),
                                  [[0.125, -0.5, 0.0]])
    assert relaxation.weights("identity", alpha).sum() == pytest.approx(2.625)


def test_weights_dispatch_and_refuse_an_unknown_relaxation():
    alpha = [[0.0, 0.0]]
    np.testing.assert_allclose(relaxation.weights("softmax", alpha, 1.0), [[0.5, 0.5]])
    np.testing.assert_allclose(relaxation.weights("sigmoid", alpha), [[0.5, 0.5]])
    with pytest.raises(ConfigError, match="relaxation='tanh'"):
        relaxation.weights("tanh", alpha)


def test_weight_entropy_of_weights_that_are_no_distribution():
    # Gates 0.5, 0.5: shares 1/2, 1/2, entropy log 2 over log 2 = 1; one op: 0; none: NaN.
    h = relaxation.normalized_weight_entropy([[0.5, 0.5], [0.3, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(h[:2], [1.0, 0.0])
    assert np.isnan(h[2])
    # |alpha| is used: NAP's negative alpha still counts by its size.
    third = relaxation.normalized_weight_entropy([[0.2, -0.2, 0.2]], candidates=3)
    np.testing.assert_allclose(third, [1.0])
