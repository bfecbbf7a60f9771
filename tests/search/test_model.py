import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.network import SearchNetwork

# A conv, a pool and skip/FactorizedReduce: each kind of op, at a fraction of the trace time.
OPS = ("sep_conv_5x5", "max_pool_3x3", "skip_connect")


def make_model(cells=3, arch_on=True):
    keras.utils.set_random_seed(0)
    net = SearchNetwork(3, 1, OPS, channels=4, cells=cells, temperature=1.0)
    model = SearchModel(net)
    model.compile(weight_optimizer=FusedMomentumSGD(0.05, momentum=0.9),
                  arch_optimizer=keras.optimizers.Adam(0.1, beta_1=0.5))
    model.build_optimizers()
    net.arch.arch_enabled.assign(1.0 if arch_on else 0.0)
    model.sync_structure(force=True)
    return model


def batch(seed=0, n=8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, n)
    return (tf.constant(x), tf.constant(y))


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_fused_sgd_matches_keras_sgd():
    v1 = keras.Variable(np.ones((3,), "float32"))
    v2 = keras.Variable(np.ones((3,), "float32"))
    a, b = FusedMomentumSGD(0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9)
    for g in ([0.5, -1.0, 2.0], [1.0, 1.0, 1.0]):
        a.apply([tf.constant(g)], [v1])
        b.apply([tf.constant(g)], [v2])
    np.testing.assert_allclose(v1.numpy(), v2.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="nesterov"):
        FusedMomentumSGD(0.1, nesterov=True)


def test_architecture_phase_leaves_weights_alone():
    model = make_model()
    weights = model.network.weight_variables()
    before_w, before_a = snapshot(weights), snapshot(model.network.arch.alpha_variables)
    model._architecture_step(*batch())
    assert not any(changed(before_w, weights))
    assert all(changed(before_a, model.network.arch.alpha_variables))


def test_weight_phase_leaves_alphas_alone():
    model = make_model()
    alphas = model.network.arch.alpha_variables
    before_a = snapshot(alphas)
    weights = model.network.weight_variables()
    before_w = snapshot(weights)
    model._weight_step(*batch())
    assert not any(changed(before_a, alphas))
    assert sum(changed(before_w, weights)) > len(weights) // 2


def test_grace_epochs_do_not_touch_adam_or_alphas():
    model = make_model(arch_on=False)
    alphas = model.network.arch.alpha_variables
    before = snapshot(alphas)
    data = tf.data.Dataset.from_tensors((batch(0), batch(1))).repeat(3)
    logs = model.fit(data, epochs=1, verbose=0, shuffle=False).history
    assert model.arch_optimizer.iterations.numpy() == 0
    assert not any(changed(before, alphas))
    assert logs["arch_loss"] == [0.0] and logs["loss"][0] > 0
    model.network.arch.arch_enabled.assign(1.0)
    assert model.sync_structure()  # the switch flipped: the step is rebuilt
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert model.arch_optimizer.iterations.numpy() == 3
    assert all(changed(before, alphas))


def test_pruned_op_is_absent_from_the_next_traced_step():
    model = make_model()
    net = model.network
    victim = net.cells[0].edges[0].ops[OPS.index("sep_conv_5x5")]
    calls = []
    original = victim.call
    victim.call = lambda *a, **k: calls.append(1) or original(*a, **k)
    data = tf.data.Dataset.from_tensors((batch(0), batch(1))).repeat(2)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert calls, "the op runs while alive"
    live_before = net.live_op_count()

    mask = net.arch.masks["normal"].numpy()
    mask[0, OPS.index("sep_conv_5x5")] = 0.0
    net.arch.masks["normal"].assign(mask)
    assert model.sync_structure()
    assert net.live_op_count() == live_before - 1
    live_ids = {id(v) for v in net.live_weight_variables()}
    assert not live_ids & {id(v) for v in victim.trainable_weights}
    calls.clear()
    before = snapshot(victim.weights)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert not calls, "the pruned op was traced into the new step"
    assert not any(changed(before, victim.weights)), "the pruned op's variables moved"
    # The structure is unchanged now: no rebuild, no retrace.
    assert not model.sync_structure()


def test_a_decided_cell_type_gets_no_architecture_update():
    model = make_model()
    net = model.network
    net.arch.masks["normal"].assign(np.eye(len(OPS), dtype="float32")[np.arange(14) % len(OPS)])
    model.sync_structure()
    assert net.undecided_cell_types() == ("reduce",)
    before = snapshot(net.arch.alpha_variables)
    model._architecture_step(*batch())
    assert changed(before, net.arch.alpha_variables) == [False, True]
