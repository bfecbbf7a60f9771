"""NAP's rules (METHODS 6(8), all inferred) on hand-built states and a tiny model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.config import config_from_dict
from asap_keras.search import schedules
from asap_keras.search.derivation import darts_cell, free_cell
from asap_keras.search.methods import make_method
from asap_keras.search.methods.nap import Nap
from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.arch_params import ArchParams
from asap_keras.space.network import SearchNetwork
from asap_keras.space.primitives import edge_endpoints

OPS = ("sep_conv_3x3", "max_pool_3x3", "skip_connect")
NODE = np.array([dst - 2 for _, dst in edge_endpoints(4)])


def nap_method(topology="free", epochs=4, **nap):
    cfg = config_from_dict({"search": {"method": "nap", "epochs": epochs, "nap": nap},
                            "space": {"ops": list(OPS), "topology": topology}})
    return make_method(cfg.search, len(OPS), topology)


def test_weights_are_unnormalised_alpha():
    arch = ArchParams(14, 3, relaxation="identity", alpha_mean=1 / 3)
    np.testing.assert_allclose(arch.weights_of("normal").numpy(), 1 / 3)  # DARTS' uniform
    alpha = np.full((14, 3), 0.2, "float32")
    arch.alphas["normal"].assign(alpha)
    with tf.GradientTape() as tape:
        w = arch.weights_of("normal")
    jacobian = tape.jacobian(w, arch.alphas["normal"]).numpy().reshape(42, 42)
    np.testing.assert_array_equal(jacobian, np.eye(42))  # alpha_k moves op k's weight only
    alpha[0] = [2.0, -1.0, 0.5]
    arch.alphas["normal"].assign(alpha)
    assert float(tf.reduce_sum(arch.weights_of("normal")[0])) == pytest.approx(1.5)


def test_pruning_follows_abs_alpha_across_the_cell():
    alpha = np.full((14, 3), 1.0)
    alpha[9, 2] = -0.01  # the smallest |alpha|, though not the smallest alpha
    alpha[3, 0] = 0.02
    alpha[12, 1] = -0.03
    alpha[0, 0] = -5.0  # the smallest alpha, by far the largest |alpha| but one
    keep = schedules.prune_lowest_per_node(np.abs(alpha), np.ones((14, 3)), 3, 4)
    dead = {(int(e), int(k)) for e, k in zip(*np.nonzero(~keep))}
    assert dead == {(9, 2), (3, 0), (12, 1)}


def test_the_guard_keeps_an_input_per_node_and_skips_to_the_next_op():
    alive = np.zeros((14, 3), bool)
    alive[0, 0] = True  # node 2's only input, and the weakest op of all
    alive[2:, :] = True
    scores = np.ones((14, 3))
    scores[0, 0] = 0.0
    scores[5, 1] = 0.5
    keep = schedules.prune_lowest_per_node(scores, alive, 1, 4)
    assert keep[0, 0] and not keep[5, 1]
    # A DARTS cell keeps two live edges per node: node 2 (edges 0, 1) loses none.
    alive[1, 0] = True
    darts = schedules.prune_lowest_per_node(scores, alive, 40, 4, min_edges=2)
    assert darts[0].any() and darts[1].any()
    assert all(len({e for e in np.nonzero(darts.any(axis=1))[0] if NODE[e] == j}) >= 2
               for j in range(4))


def test_the_schedule_ends_with_exactly_keep_ops_and_an_input_per_node():
    method = nap_method(epochs=4)  # prune_start 2 (half), final_epoch 4, keep 8
    assert isinstance(method, Nap) and method.initial_alpha() == pytest.approx(1 / 3)
    rng = np.random.default_rng(0)
    alive = {"reduce": np.ones((14, 3), bool)}
    counts = []
    for epoch in range(4):
        state = {"alpha": {"reduce": rng.normal(size=(14, 3))}, "alive": alive}
        masks = method.epoch_end_masks(state, epoch, ("reduce",))
        if masks:
            assert not (masks["reduce"] & ~alive["reduce"]).any()  # never back to alive
            alive = {"reduce": masks["reduce"]}
        counts.append(int(alive["reduce"].sum()))
    # Epochs 0 and 1 (t = 1, 2 <= t0 = 2) prune nothing; Zhu-Gupta p = 3 from 42 to 8:
    # t = 3: round((1 - 0.5^3) * 34) = 30 gone; t = 4: all 34.
    assert counts == [42, 42, 12, 8]
    assert all(alive["reduce"][NODE == j].any() for j in range(4))


def test_a_free_cell_may_have_single_input_nodes_and_leave_out_an_input():
    strength = np.ones((14, 3))
    kept = np.zeros((14, 3), bool)
    kept[1, 0] = True  # node 2 reads input 1 only
    kept[4, 2] = True  # node 3 reads node 2 only
    kept[8, 0] = kept[8, 1] = True  # node 4 reads node 3 twice
    strength[8, 1] = 2.0
    kept[13, 2] = True  # node 5 reads node 4
    one = free_cell(strength, kept, OPS, 4, multi_op_edges=False)
    assert one == [("sep_conv_3x3", 1, 2), ("skip_connect", 2, 3),
                   ("max_pool_3x3", 3, 4), ("skip_connect", 4, 5)]
    assert all(src != 0 for _, src, _ in one)  # input 0 is discarded
    many = free_cell(strength, kept, OPS, 4, multi_op_edges=True)
    assert ("sep_conv_3x3", 3, 4) in many and len(many) == 5


def test_nap_derives_a_free_genotype_or_a_darts_cell_by_abs_alpha():
    alpha = np.full((14, 3), 0.1)
    alive = np.zeros((14, 3), bool)
    alive[[1, 4, 8, 13], [0, 2, 0, 2]] = True
    alive[8, 1] = True
    alpha[8, 1] = -0.9  # |alpha| 0.9 beats 0.1 on edge (3, 4)
    state = {"alpha": {"normal": alpha, "reduce": alpha},
             "alive": {"normal": alive, "reduce": alive}}
    genotype = nap_method().derive(state, OPS, 4)
    if not hasattr(genotype, "edges"):
        pytest.skip("Genotype.free is not there yet")
    assert genotype.topology == "free"
    assert genotype.edges("normal") == (("sep_conv_3x3", 1, 2), ("skip_connect", 2, 3),
                                        ("max_pool_3x3", 3, 4), ("skip_connect", 4, 5))
    pairs = darts_cell(np.abs(alpha), np.ones((14, 3)), OPS, 4)
    assert pairs[4:6] == (("sep_conv_3x3", 0), ("max_pool_3x3", 3))  # node 4


def test_a_tiny_nap_model_trains_its_alphas_as_op_weights():
    keras.utils.set_random_seed(0)
    method = nap_method()
    net = SearchNetwork(3, 1, OPS, channels=2, cells=2, relaxation="identity",
                        alpha_mean=method.initial_alpha())
    model = SearchModel(net)
    model.compile(weight_optimizer=FusedMomentumSGD(0.05, momentum=0.9),
                  arch_optimizer=keras.optimizers.Adam(0.05, beta_1=0.5), method=method)
    model.build_optimizers()
    net.arch.arch_enabled.assign(1.0)
    mask = np.ones((14, 3), "float32")
    mask[0, 1:] = 0.0  # edge (0, 2) keeps sep_conv alone: it still learns its weight
    net.arch.masks["reduce"].assign(mask)
    model.sync_structure(force=True)
    rng = np.random.default_rng(0)
    data = [(tf.constant(rng.normal(size=(6, 8, 8, 1)).astype("float32")),
             tf.constant(rng.integers(0, 3, 6))) for _ in range(2)]
    before = net.arch.alphas["reduce"].numpy().copy()
    model.fit(tf.data.Dataset.from_tensors(tuple(data)), epochs=1, verbose=0, shuffle=False)
    after = net.arch.alphas["reduce"].numpy()
    assert after[0, 0] != before[0, 0]  # the lone op's alpha moved
    np.testing.assert_array_equal(after[0, 1:], before[0, 1:])  # pruned ops' did not
    assert np.abs(after - 1 / 3).max() > 0  # weights are no longer uniform
