"""The supernet's multiply-adds and GOLD-NAS' resource terms, counted by hand."""

import math

import numpy as np
import pytest

from asap_keras.errors import ConfigError
from asap_keras.search import resource

OPS = ("skip_connect", "sep_conv_3x3")
# 2 cells (both reductions), C = 2, 2 nodes (5 edges), stem 1 x C, 4x4x1 images, 3 classes.
TINY = resource.Geometry(OPS, cells=2, channels=2, nodes=2, stem_multiplier=1,
                         image_shape=(4, 4, 1), num_classes=3)


def test_supernet_multiply_adds_by_hand():
    cost = resource.supernet_cost(TINY)
    # Base: stem 3x3 1->2 at 4x4 (288); cell 0 (C=4) preprocessing 1x1 2->4 twice at 4x4
    # (128 + 128); cell 1 (C=8) FactorizedReduce 2->8 from 4x4 (2 x 2*4*4 = 64) and 1x1
    # 8->8 at 2x2 (256); classifier 16 -> 3 (48).
    assert cost.base == 288 + 128 + 128 + 64 + 256 + 48
    assert cost.cells_of_type == {"normal": 0, "reduce": 2}
    # Cell 0, stride-2 edges from 4x4 to 2x2: skip = FactorizedReduce 4->4 (2 x 4*2*4 = 64),
    # sep_conv = 2 x (9*4*4 + 4*4*4) = 416; its stride-1 edge at 2x2: skip 0, sep 416.
    # Cell 1, 2x2 -> 1x1: skip 2 x 8*4 = 64, sep 2 x (9*8 + 8*8) = 272; stride 1: 0, 272.
    expected = np.array([[128, 688]] * 4 + [[0, 688]])
    np.testing.assert_array_equal(cost.per_op["reduce"], expected)
    assert not cost.per_op["normal"].any()
    everything = {"normal": np.ones((5, 2)), "reduce": np.ones((5, 2))}
    assert cost.madds(everything) == 912 + 4 * (128 + 688) + 688
    only_skips = {"reduce": np.array([[1, 0]] * 5)}
    assert cost.madds(only_skips) == 912 + 4 * 128


def test_fewer_alive_ops_never_cost_more():
    cost = resource.supernet_cost(TINY)
    rng = np.random.default_rng(0)
    alive = np.ones((5, 2), bool)
    last = cost.madds({"reduce": alive})
    for _ in range(10):
        alive[rng.integers(5), rng.integers(2)] = False
        now = cost.madds({"reduce": alive})
        assert now <= last
        last = now


def test_node_normalized_weights_sum_to_one_per_node():
    gates = np.full((5, 2), 0.5)
    alive = np.ones((5, 2), bool)
    alive[4, 1] = False
    w = resource.node_normalized(gates, alive, nodes=2)
    # Node 2 reads edges 0, 1 (4 gates of 0.5); node 3 edges 2, 3, 4 (5 alive gates).
    np.testing.assert_allclose(w[:2], 0.25)
    np.testing.assert_allclose(w[2:][alive[2:]], 0.2)
    assert w[4, 1] == 0.0


def test_unofficial_log_penalty_by_hand():
    gates, alive, flops = np.full((5, 2), 0.5), np.ones((5, 2)), np.zeros((5, 2))
    # Every term is log(1 + K_j w~) = log(1 + K_j / K_j) = log 2, priced cells * r = 2.
    c = resource.penalty("unofficial_log", gates, alive, 2, flops, cells=2)
    assert c == pytest.approx(10 * 2 * math.log(2))
    # xi_min = 0.2 leaves out node 3's ops (w~ = 1/6): node 2's four remain.
    assert resource.penalty("unofficial_log", gates, alive, 2, flops, cells=2,
                            xi_min=0.2) == pytest.approx(4 * 2 * math.log(2))
    # mu prices each op by its multiply-adds in millions as well.
    flops[0, 1] = 3e6
    with_mu = resource.penalty("unofficial_log", gates, alive, 2, flops, cells=2, mu=0.5)
    assert with_mu == pytest.approx(10 * 2 * math.log(2) + 0.5 * 3 * math.log(2))


def test_expected_flops_penalty_by_hand():
    gates = np.array([[0.25, 0.5]] * 5)
    alive = np.ones((5, 2))
    alive[0, 1] = 0
    flops = np.array([[2e6, 4e6]] * 5)
    # 5 alive skips of 0.25 * 2M and 4 alive convs of 0.5 * 4M.
    assert resource.penalty("expected_flops", gates, alive, 2, flops, 2) == pytest.approx(
        5 * 0.5 + 4 * 2.0)
    with pytest.raises(ConfigError, match="penalty='l1'"):
        resource.penalty("l1", gates, alive, 2, flops, 2)
