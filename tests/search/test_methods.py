"""Each search method's rules on tiny models: order, schedules, gradients, what is pruned."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.config import config_from_dict
from asap_keras.search import gradients
from asap_keras.search.config import METHODS as CONFIG_METHODS
from asap_keras.search.methods import METHODS, make_method
from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.network import SearchNetwork

OPS = ("sep_conv_3x3", "max_pool_3x3", "skip_connect")


def search_cfg(**search):
    return config_from_dict({"search": search}).search


def make_model(method="asap", cells=2, lr=0.05, **search):
    keras.utils.set_random_seed(0)
    net = SearchNetwork(3, 1, OPS, channels=2, cells=cells)  # 2 cells: both reductions
    model = SearchModel(net)
    model.compile(weight_optimizer=FusedMomentumSGD(lr, momentum=0.9),
                  arch_optimizer=keras.optimizers.Adam(0.05, beta_1=0.5),
                  method=make_method(search_cfg(method=method, **search), len(OPS)))
    model.build_optimizers()
    net.arch.arch_enabled.assign(1.0)
    model.sync_structure(force=True)
    return model


def batch(seed, n=6):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.normal(size=(n, 8, 8, 1)).astype("float32")),
            tf.constant(rng.integers(0, 3, n)))


def one_step(model, data):
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0, shuffle=False)


def test_every_configurable_method_has_a_strategy():
    assert set(CONFIG_METHODS) == set(METHODS)
    for name, cls in METHODS.items():
        assert cls.name == name


def test_asap_schedules_per_epoch_and_pac_hands_t_and_theta_to_the_step():
    asap = make_method(search_cfg(), 7)
    plan = asap.epoch_schedule(4)
    assert plan.temperature == pytest.approx(1.3 * 0.95 ** 4) and not plan.arch_steps
    assert plan.threshold == pytest.approx(0.4 / 7)
    assert asap.epoch_schedule(5).arch_steps
    pac = make_method(search_cfg(anneal={"schedule": "pac"}), 7)
    assert pac.epoch_schedule(4).temperature == pytest.approx(1.3 * 0.95 ** 4)  # same grace
    after = pac.epoch_schedule(5)
    assert after.arch_steps and after.temperature is None and after.threshold is None
    for name in ("darts", "magnitude", "accum_grad"):
        plan = make_method(search_cfg(method=name, epochs=10), 7).epoch_schedule(0)
        assert (plan.temperature, plan.threshold, plan.arch_steps) == (1.0, 0.0, True)


def test_pac_step_sets_eq_7_and_8_in_the_graph():
    from asap_keras.search import schedules

    model = make_model("asap", anneal={"schedule": "pac", "pac": {"eta_l": 0.01}})
    arch = model.network.arch
    model.method.step_schedule(arch, tf.constant(3, tf.int64))
    assert float(arch.temperature.numpy()) == pytest.approx(
        schedules.pac_temperature(3, 3, 0.01, 0.05, 1 / 3), rel=1e-5)
    assert float(arch.threshold.numpy()) == pytest.approx(np.exp(-3) / 3, rel=1e-5)
    one_step(model, (batch(0), batch(1)))  # the first alpha update is t = 1
    assert float(arch.threshold.numpy()) == pytest.approx(np.exp(-1) / 3, rel=1e-5)


def test_darts_steps_architecture_first_and_never_prunes():
    data = (batch(0), batch(1))
    models = [make_model("darts") for _ in range(2)]
    one_step(models[0], data)
    models[1]._architecture_step(*data, ("reduce",), 0)
    models[1]._weight_step(*data[0])
    np.testing.assert_allclose(models[0].network.arch.alphas["reduce"].numpy(),
                               models[1].network.arch.alphas["reduce"].numpy(),
                               rtol=1e-5, atol=1e-7)
    for i in range(3):
        one_step(models[0], (batch(i), batch(i + 5)))
    assert models[0].network.arch.masks["reduce"].numpy().all()


def explicit_unrolled_gradient(model, weight_batch, arch_batch, xi):
    """d/dalpha L_val(w'(alpha), alpha), differentiating through the virtual step itself."""
    net = model.network
    weights = net.live_weight_variables()
    alpha = net.arch.alphas["reduce"]
    opt = model.weight_optimizer
    lr = float(opt.learning_rate.numpy())
    buf = [-opt.momentums[opt._get_variable_index(w)].numpy() / lr for w in weights]

    def loss(x, y, values=None):
        mapping = [] if values is None else list(zip(weights, values))
        with keras.StatelessScope(state_mapping=mapping):
            return gradients.cross_entropy(y, model(x, training=True))

    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            train_loss = loss(*weight_batch)
        g = inner.gradient(train_loss, weights)
        virtual = [w - xi * (0.9 * b + gw + model.weight_decay * w)
                   for w, b, gw in zip(weights, buf, g)]
        val_loss = loss(*arch_batch, virtual)
    return outer.gradient(val_loss, alpha)


def test_second_order_gradient_matches_the_explicitly_unrolled_one():
    model = make_model("darts", darts={"order": 2})
    one_step(model, (batch(0), batch(1)))  # a non-zero momentum buffer
    net = model.network
    alpha = net.arch.alphas["reduce"]
    net.arch.alphas["reduce"].assign(np.random.default_rng(2).normal(size=(14, 3)) * 0.5)
    wb, ab = batch(3), batch(4)
    xi = float(model.weight_optimizer.learning_rate.numpy())
    # This 2-channel net's gradient is not smooth at DARTS' radius 0.01 (nor 1e-3): ReLU
    # kinks and BatchNorm over tiny channels. At 1e-4 the difference quotient is the
    # Hessian-vector product to < 1%, so the unrolled algebra itself is what is checked.
    _, _, (fd,) = gradients.unrolled(model, wb, ab, [alpha], xi, radius=1e-4)
    exact = explicit_unrolled_gradient(model, wb, ab, xi)
    first = gradients.first_order(model, ab, [alpha])[2][0]
    rel = float(tf.norm(fd - exact) / tf.norm(exact))
    assert rel < 1e-2, rel
    # The second-order term is not negligible here, so the test can tell the two apart.
    assert float(tf.norm(first - exact) / tf.norm(exact)) > 10 * rel
    # xi = 0: w' = w and no Hessian term: the first-order gradient.
    _, _, (zero,) = gradients.unrolled(model, wb, ab, [alpha], 0.0)
    np.testing.assert_allclose(zero.numpy(), first.numpy(), rtol=1e-5, atol=1e-7)


def test_the_virtual_steps_assign_nothing():
    model = make_model("darts", darts={"order": 2})
    net = model.network
    before = [v.numpy().copy() for v in net.weights]  # BN statistics included
    gradients.unrolled(model, batch(0), batch(1), [net.arch.alphas["reduce"]], 0.05)
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, net.weights))


def test_magnitude_ranks_phi_across_edges_and_ignores_per_edge_offsets():
    from asap_keras.search.methods.magnitude import Magnitude

    method = make_method(search_cfg(method="magnitude", epochs=4), 3)
    assert isinstance(method, Magnitude)
    rng = np.random.default_rng(0)
    alpha = rng.normal(size=(14, 3))
    state = {"alpha": {"reduce": alpha}, "alive": {"reduce": np.ones((14, 3), bool)},
             "temperature": 1.0}
    shifted = {**state, "alpha": {"reduce": alpha + np.arange(14)[:, None] * 5.0}}
    # Epochs 0..3 with t0 = 2 (40% of 4) and E_f = 4: after epoch 2 (t = 3) half the way.
    first = method.epoch_end_masks(state, 2, ("reduce",))["reduce"]
    assert np.array_equal(first, method.epoch_end_masks(shifted, 2, ("reduce",))["reduce"])
    expected = int(round((1 - 0.5 ** 3) * (2 / 3) * 42))
    assert (~first).sum() == expected
    weights = np.exp(alpha) / np.exp(alpha).sum(axis=1, keepdims=True)
    assert weights[~first].max() <= weights[first].max()
    # By raw alpha, an offset per edge changes the choice.
    by_alpha = make_method(search_cfg(method="magnitude", epochs=4,
                                      magnitude={"key": "alpha"}), 3)
    assert not np.array_equal(by_alpha.epoch_end_masks(state, 2, ("reduce",))["reduce"],
                              by_alpha.epoch_end_masks(shifted, 2, ("reduce",))["reduce"])
    # At E_f every edge keeps one op; before t0 nothing goes.
    last = method.epoch_end_masks(state, 3, ("reduce",))["reduce"]
    assert (last.sum(axis=1) == 1).all()
    assert method.epoch_end_masks(state, 1, ("reduce",)) is None


def test_accumulated_gradient_scores_sum_the_raw_gradients_of_alive_ops():
    model = make_model("accum_grad", epochs=4)
    arch = model.network.arch
    mask = np.ones((14, 3), np.float32)
    mask[0, 1] = 0.0
    arch.masks["reduce"].assign(mask)
    model.sync_structure()
    expected = np.zeros((14, 3))
    for i in range(3):
        data = (batch(i), batch(i + 10))
        _, _, (grad,) = gradients.first_order(model, data[1], [arch.alphas["reduce"]])
        expected += np.abs(grad.numpy()) * mask
        model._architecture_step(*data, ("reduce",), i)
        np.testing.assert_allclose(arch.scores["reduce"].numpy(), expected, rtol=1e-4,
                                   atol=1e-7)
    assert arch.scores["reduce"].numpy()[0, 1] == 0.0  # a pruned op's score stays frozen


def test_ops_pruned_at_an_epoch_end_leave_the_traced_step():
    from asap_keras.search.callbacks import FollowPrunes, ScheduledPrune

    model = make_model("magnitude", epochs=2)
    net = model.network
    calls = set()

    def spy(key, call):
        def wrapped(*args, **kwargs):
            calls.add(key)
            return call(*args, **kwargs)
        return wrapped

    for e, edge in enumerate(net.cells[0].edges):
        for k, op in enumerate(edge.ops):
            op.call = spy((e, k), op.call)
    prune, follow = ScheduledPrune(model.method), FollowPrunes()
    for cb in (prune, follow):
        cb.set_model(model)
        cb.set_params({"steps": 1})
    follow.on_train_begin()
    one_step(model, (batch(0), batch(1)))
    assert len(calls) == 14 * 3
    prune.on_epoch_end(0)  # t = 1 = t0 (40% of 2 epochs, rounded): nothing yet
    assert net.arch.masks["reduce"].numpy().all()
    prune.on_epoch_end(1)  # t = 2 = E_f: one op per edge
    follow.on_epoch_end(1)
    mask = net.arch.masks["reduce"].numpy() > 0.5
    assert (mask.sum(axis=1) == 1).all() and model.stop_training
    calls.clear()
    one_step(model, (batch(2), batch(3)))
    assert calls == {(e, int(np.argmax(mask[e]))) for e in range(14)}
    model.stop_training = False
