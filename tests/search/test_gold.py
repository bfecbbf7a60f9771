"""GOLD-NAS' rules on hand-built states and tiny models (METHODS 5(8))."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.config import config_from_dict
from asap_keras.search import checkpoint, resource
from asap_keras.search.callbacks import FollowPrunes, ScheduledPrune
from asap_keras.search.gradients import cross_entropy
from asap_keras.search.methods import make_method
from asap_keras.search.methods.gold import Gold, controller, prune
from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.arch_params import ArchParams
from asap_keras.space.network import SearchNetwork
from tests.search.test_methods import batch

OPS = ("skip_connect", "sep_conv_3x3")


def gold_method(topology="free", nodes=4, **gold):
    cfg = config_from_dict({"search": {"method": "gold", "gold": gold},
                            "space": {"ops": list(OPS), "topology": topology,
                                      "nodes": nodes}})
    return make_method(cfg.search, len(OPS), topology)


def make_model(method=None, cells=2, nodes=4, lr=0.05, alpha_lr=1.0):
    keras.utils.set_random_seed(0)
    net = SearchNetwork(3, 1, OPS, channels=2, cells=cells, nodes=nodes,
                        relaxation="sigmoid")  # 2 cells: both reductions
    method = method or gold_method(nodes=nodes)
    method.bind(resource.Geometry.of(net, (8, 8, 1)))
    model = SearchModel(net)
    model.compile(weight_optimizer=FusedMomentumSGD(lr, momentum=0.9),
                  arch_optimizer=keras.optimizers.SGD(alpha_lr, momentum=0.9),
                  arch_weight_decay=0.0, method=method)
    model.build_optimizers()
    net.arch.arch_enabled.assign(1.0)
    model.sync_structure(force=True)
    return model


def test_the_controller_reproduces_the_exact_sequence():
    lam, dlam, seen = 0.0, 0.0, []  # a fresh state: dlam 0 reads as lambda0
    for pruned in (0, 0, 0, 4, 0):
        lam, dlam = controller(lam, dlam, pruned, n0=4, lambda0=1e-5, c0=2.0)
        seen.append(lam)
    assert seen == pytest.approx([2e-5, 6e-5, 1.4e-4, 7e-5, 9e-5], rel=1e-12)


def test_gates_are_independent_in_the_graph():
    arch = ArchParams(5, 3, relaxation="sigmoid")
    alpha = np.array([[0.3, -1.0, 2.0]] * 5, "float32")
    arch.alphas["normal"].assign(alpha)
    with tf.GradientTape() as tape:
        w = arch.weights_of("normal")
    jacobian = tape.jacobian(w, arch.alphas["normal"]).numpy()  # (5, 3, 5, 3)
    s = 1.0 / (1.0 + np.exp(-alpha))
    expected = np.zeros((5, 3, 5, 3))
    for e in range(5):
        for k in range(3):
            expected[e, k, e, k] = s[e, k] * (1 - s[e, k])  # d sigmoid(a_k) / d a_k only
    np.testing.assert_allclose(jacobian, expected, atol=1e-6)


def node_w(gates, alive, nodes):
    return resource.node_normalized(gates, alive, nodes)


def test_rule_a_prunes_every_op_under_xi_min_and_rule_b_the_weakest_under_xi_max():
    # 2 nodes (5 edges), 2 ops. Node 2: one gate far below the others (w~ 0.002).
    gates = np.array([[0.9, 0.005], [0.9, 0.9], [1.0, 1.0], [0.03, 0.04], [0.03, 0.04]])
    alive = np.ones((5, 2), bool)
    keep, ranked = prune({"reduce": gates}, {"reduce": alive}, 2, 0.01, 0.05, n0=2)
    # Node 3: S = 2.14, w~ = 0.014, 0.0187, 0.014, 0.0187; the two 0.03 gates go by rank.
    expected = alive.copy()
    expected[0, 1] = expected[3, 0] = expected[4, 0] = False
    np.testing.assert_array_equal(keep["reduce"], expected)
    assert ranked == 2
    after = node_w(gates, keep["reduce"], 2)
    assert (after[keep["reduce"]] > 0.01).all()


def test_rank_prunes_stop_at_n0_and_at_xi_max_and_rank_over_cell_types():
    ones = np.ones((5, 2))
    reduce, normal = ones.copy(), ones.copy()
    reduce[3, 0] = 0.03  # node 3: S = 5.03, w~ = 0.005964
    normal[4, 0] = 0.02  # node 3: S = 5.02, w~ = 0.003984: the weakest of both types
    gates = {"reduce": reduce, "normal": normal}
    alive = {"normal": np.ones((5, 2), bool), "reduce": np.ones((5, 2), bool)}
    keep, ranked = prune(gates, alive, 2, 0.001, 0.05, n0=1)
    assert ranked == 1 and not keep["normal"][4, 0] and keep["reduce"][3, 0]
    keep, ranked = prune(gates, alive, 2, 0.001, 0.05, n0=10)
    # Then reduce's; every other w~ is 1/4 or 1/5, above xi_max: the rank prunes stop.
    assert ranked == 2 and not keep["reduce"][3, 0]
    assert sum(int(k.sum()) for k in keep.values()) == 18
    # With xi_min = 0.01 both fall under it: rule (a), no rank prune.
    keep, ranked = prune(gates, alive, 2, 0.01, 0.05, n0=10)
    assert ranked == 0 and not keep["normal"][4, 0] and not keep["reduce"][3, 0]
    for t in keep:
        assert (node_w(gates[t], keep[t], 2)[keep[t]] > 0.05).all()


def test_no_node_loses_its_last_input_and_a_darts_cell_keeps_two_edges():
    gates = np.array([[0.99, 0.99], [0.001, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    alive = np.ones((5, 2), bool)
    alive[1, 1] = False  # edge (1, 2) has a single op, with w~ 0.0005
    free, _ = prune({"reduce": gates}, {"reduce": alive}, 2, 0.01, 0.05, n0=4)
    assert not free["reduce"][1].any()  # a free cell may drop input 1 from node 2
    darts, _ = prune({"reduce": gates}, {"reduce": alive}, 2, 0.01, 0.05, n0=4, min_edges=2)
    assert darts["reduce"][1, 0]  # node 2 keeps two live edges
    lone = np.zeros((5, 2), bool)
    lone[0, 0] = lone[2:, 0] = True  # node 2 reads one op only: never removed
    kept, _ = prune({"reduce": np.full((5, 2), 1e-6)}, {"reduce": lone}, 2, 0.9, 0.95, n0=9)
    node = np.array([0, 0, 1, 1, 1])
    assert all(kept["reduce"][node == j].any() for j in (0, 1))


@pytest.mark.parametrize("seed", range(6))
def test_random_prunes_keep_the_invariants(seed):
    rng = np.random.default_rng(seed)
    alive = {t: rng.random((14, 2)) > 0.2 for t in ("normal", "reduce")}
    for a in alive.values():
        a[[0, 2, 5, 9], 0] = True  # an input per node
    gates = {t: 1 / (1 + np.exp(-rng.normal(scale=3.0, size=(14, 2)))) for t in alive}
    keep, ranked = prune(gates, alive, 4, 0.01, 0.05, n0=4)
    node = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3])
    for t in alive:
        assert not (keep[t] & ~alive[t]).any()  # the alive count never rises
        assert all(keep[t][node == j].any() for j in range(4))  # every node has an input
        w = node_w(gates[t], keep[t], 4)
        assert (w[keep[t]] > 0.01).all()
    assert ranked <= 4


def test_the_tensorflow_penalty_is_the_pure_one():
    for kind in ("unofficial_log", "expected_flops"):
        method = gold_method(nodes=2, penalty=kind, mu=0.5)
        method.bind(resource.Geometry(OPS, 2, 2, 2, 1, (4, 4, 1), 3))
        arch = ArchParams(5, 2, relaxation="sigmoid")
        rng = np.random.default_rng(1)
        alpha = rng.normal(scale=2.0, size=(5, 2)).astype("float32")
        mask = np.ones((5, 2), "float32")
        mask[2, 1] = 0.0
        arch.alphas["reduce"].assign(alpha)
        arch.masks["reduce"].assign(mask)
        arch.resource_weight.assign(0.5)
        got = float(method.extra_loss(arch, ("reduce",)).numpy())
        gates = np.where(mask > 0, 1 / (1 + np.exp(-alpha.astype(np.float64))), 0.0)
        expected = 0.5 * resource.penalty(kind, gates, mask, 2, method.cost.per_op["reduce"],
                                          2, r=1.0, mu=0.5, xi_min=0.01)
        assert got == pytest.approx(expected, rel=1e-5)


def test_one_level_draws_one_batch_and_updates_weights_and_alphas_from_it():
    model, twin = make_model(), make_model()  # the same seed: the same start
    x, y = batch(0)
    net, arch = model.network, model.network.arch
    weights = net.live_weight_variables()
    # The expected update, computed by hand on a twin: one SGD step of lr 1.0 on
    # d CE / d alpha (lambda 0, no decay) and the clipped, decayed SGD step on the weights.
    with tf.GradientTape() as tape:
        loss = cross_entropy(y, twin(x, training=True))
    twin_alphas = [twin.network.arch.alphas["reduce"]]
    twin_weights = twin.network.live_weight_variables()
    grads = tape.gradient(loss, twin_weights + twin_alphas)
    g_w, _ = tf.clip_by_global_norm(grads[:-1], 5.0)
    before_alpha = arch.alphas["reduce"].numpy().copy()
    before_w = [w.numpy().copy() for w in weights]
    history = model.fit(tf.data.Dataset.from_tensors((x, y)), epochs=1, verbose=0,
                        shuffle=False).history
    assert model.weight_optimizer.iterations.numpy() == 1
    assert model.arch_optimizer.iterations.numpy() == 1
    np.testing.assert_allclose(arch.alphas["reduce"].numpy() - before_alpha,
                               -1.0 * grads[-1].numpy(), rtol=1e-4, atol=1e-6)
    for w, b, g in list(zip(weights, before_w, g_w))[:20]:
        np.testing.assert_allclose(w.numpy() - b, -0.05 * (g.numpy() + 3e-4 * b),
                                   rtol=1e-4, atol=1e-6)
    assert history["loss"][0] == pytest.approx(float(loss), rel=1e-5)
    assert history["penalty"][0] == 0.0  # lambda starts at 0


def test_a_lone_op_is_scaled_by_its_gate_and_pruned_ops_leave_the_trace():
    model = make_model(nodes=2)
    net = model.network
    mask = np.ones((5, 2), "float32")
    mask[0, 1] = 0.0  # edge (0, 2) keeps skip_connect (a FactorizedReduce) alone
    net.arch.masks["reduce"].assign(mask)
    net.arch.alphas["reduce"].assign(np.full((5, 2), 1.0, "float32"))
    assert model.sync_structure()
    weights = net.edge_weights("reduce")
    assert weights[0].numpy() == pytest.approx([1 / (1 + np.exp(-1.0))])  # not None: 0.73
    edge = net.cells[0].edges[0]
    x = tf.ones((2, 8, 8, 4))
    np.testing.assert_allclose(edge(x, weights[0]).numpy(),
                               0.7310586 * edge.ops[0](x).numpy(), rtol=1e-5)
    calls = []
    victim = edge.ops[1]
    original = victim.call
    victim.call = lambda *a, **k: calls.append(1) or original(*a, **k)
    model.fit(tf.data.Dataset.from_tensors(batch(0)), epochs=1, verbose=0, shuffle=False)
    assert not calls, "the pruned op was traced into the step"
    assert model.arch_optimizer.iterations.numpy() == 1


def test_the_epoch_end_prune_moves_lambda_and_checkpoints_restore_it(tmp_path):
    model = make_model(nodes=2)
    arch = model.network.arch
    alpha = np.zeros((5, 2), "float32")
    alpha[3, 0] = alpha[4, 0] = -6.0  # gates 0.0025: w~ 0.0008, under xi_min
    arch.alphas["reduce"].assign(alpha)
    prune_cb, follow = ScheduledPrune(model.method), FollowPrunes()
    for cb in (prune_cb, follow):
        cb.set_model(model)
        cb.set_params({"steps": 1})
    follow.on_train_begin()
    prune_cb.on_epoch_end(0)  # 2 pruned < n0 = 4: dlam 2e-5, lambda 2e-5
    assert arch.masks["reduce"].numpy()[3:, 0].tolist() == [0.0, 0.0]
    # Recorded with each dead op: its w~ before the prune, 0.0024726 / 2.0049452.
    assert arch.pruned_weight["reduce"].numpy()[3, 0] == pytest.approx(0.0012333, rel=1e-3)
    prune_cb.on_epoch_end(1)
    assert float(arch.resource_weight.numpy()) == pytest.approx(6e-5)
    assert float(arch.resource_step.numpy()) == pytest.approx(4e-5)
    signature = {"ops": list(OPS), "nodes": 2}
    path = checkpoint.save(model, tmp_path, 2, signature)
    fresh = make_model(nodes=2)
    assert float(fresh.network.arch.resource_weight.numpy()) == 0.0
    assert checkpoint.restore(fresh, path, signature) == 2
    assert float(fresh.network.arch.resource_weight.numpy()) == pytest.approx(6e-5)
    assert float(fresh.network.arch.resource_step.numpy()) == pytest.approx(4e-5)
    np.testing.assert_array_equal(fresh.network.arch.masks["reduce"].numpy(),
                                  arch.masks["reduce"].numpy())


def test_the_search_stops_once_the_supernet_is_under_flops_min():
    method = gold_method(nodes=2)
    geometry = resource.Geometry(OPS, 2, 2, 2, 1, (4, 4, 1), 3)
    method.bind(geometry)
    # By hand (tests/search/test_resource.py): 4864 with every op, 912 + 4 * 128 skips only.
    everything = {"normal": np.ones((5, 2), bool), "reduce": np.ones((5, 2), bool)}
    skips = {"normal": everything["normal"], "reduce": np.array([[1, 0]] * 5, bool)}
    assert method.stop_reason({"alive": everything}, ("reduce",)) is None  # flops_min 0
    limited = gold_method(nodes=2, flops_min=0.002)  # 2000 multiply-adds
    limited.bind(geometry)
    assert limited.stop_reason({"alive": everything}, ("reduce",)) is None
    assert limited.stop_reason({"alive": skips}, ("reduce",)) == "flops_min"
    # One op per edge is no reason for GOLD to stop (ASAP's "discrete").
    assert limited.stop_reason({"alive": {"reduce": np.eye(2, dtype=bool)[[0, 1, 0, 1, 1]]}},
                               ("reduce",)) is None


def test_gold_derives_a_free_cell_of_the_ops_above_xi_min_or_a_darts_cell():
    method = gold_method(nodes=2)
    alpha = np.zeros((5, 2))
    alpha[1] = [-8.0, 3.0]  # edge (1, 2): skip's gate 0.0003, w~ under xi_min
    alive = np.ones((5, 2), bool)
    alive[2:, :] = False
    alive[4, 0] = True  # node 3 reads node 2 only, by skip_connect
    state = {"alpha": {"normal": alpha, "reduce": alpha}, "alive": {"normal": alive,
                                                                    "reduce": alive}}
    genotype = method.derive(state, OPS, 2)
    assert genotype.topology == "free"
    assert genotype.edges("reduce") == (("sep_conv_3x3", 0, 2), ("skip_connect", 0, 2),
                                        ("sep_conv_3x3", 1, 2), ("skip_connect", 2, 3))
    # A DARTS cell ranks edges by gate: on ties the lower op, then the lower source.
    everything = {t: np.ones((5, 2), bool) for t in ("normal", "reduce")}
    darts = gold_method(topology="darts", nodes=2).derive({**state, "alive": everything},
                                                          OPS, 2)
    assert darts.reduce == (("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0),
                            ("skip_connect", 1))


def test_gold_defaults():
    method = gold_method()
    assert isinstance(method, Gold) and method.levels == "one"
    assert method.relaxation == "sigmoid" and method.initial_alpha() == 0.0
    plan = method.epoch_schedule(0)
    assert (plan.temperature, plan.threshold, plan.arch_steps) == (1.0, 0.05, True)
    cfg = config_from_dict({"search": {"method": "gold"}}).search
    assert (cfg.arch_optimizer.kind, cfg.arch_optimizer.lr, cfg.arch_optimizer.momentum,
            cfg.arch_optimizer.weight_decay) == ("sgd", 1.0, 0.9, 0.0)


def test_a_free_node_whose_ops_are_all_under_xi_min_keeps_its_strongest():
    method = gold_method(nodes=2, xi_min=0.3, xi_max=0.5)  # node 3: six ops of w~ 1/6
    alpha = np.zeros((5, 2))
    alpha[3, 1] = 0.5
    state = {"alpha": {"normal": alpha, "reduce": alpha},
             "alive": {t: np.ones((5, 2), bool) for t in ("normal", "reduce")}}
    edges = method.derive(state, OPS, 2).edges("reduce")
    assert [e for e in edges if e[2] == 3] == [("sep_conv_3x3", 1, 3)]
    # Node 2's four ops tie at w~ 0.25 < 0.3: the first (edge (0, 2), skip_connect) stays.
    assert [e for e in edges if e[2] == 2] == [("skip_connect", 0, 2)]
