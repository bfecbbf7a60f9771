import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.search import gradients
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


def one_step(model, data):
    """One train_step through fit(), as the search runs it."""
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0, shuffle=False)


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
    model._architecture_step(batch(1), batch(), ("normal", "reduce"), 0)
    assert not any(changed(before_w, weights))
    assert all(changed(before_a, model.network.arch.alpha_variables))


def test_only_the_weight_phase_moves_batchnorm_statistics():
    """The architecture phase normalizes by its batch and leaves the moving statistics,
    which follow the weight phase's batches."""
    model = make_model()
    statistics = [v for v in model.network.weights if v.name.endswith(("_mean", "_var"))]
    assert len(statistics) > 50
    before = snapshot(statistics)
    model._architecture_step(batch(1), batch(), ("normal", "reduce"), 0)
    assert not any(changed(before, statistics))
    model._weight_step(*batch())
    assert sum(changed(before, statistics)) > len(statistics) // 2


def test_the_architecture_gradient_is_a_full_tapes():
    """The phase's tape watches only the alphas; its gradient is the one of a tape that
    watches every variable the forward pass reads."""
    model = make_model()
    alphas = model.network.arch.alpha_variables
    x, y = batch(2)
    _, _, grads = gradients.first_order(model, (x, y), alphas)
    with tf.GradientTape() as tape:
        loss = gradients.cross_entropy(y, model(x, training=True))
    expected = tape.gradient(loss, alphas)
    for got, want in zip(grads, expected):
        assert float(tf.norm(want)) > 0
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


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
    # No architecture phase: no arch_* numbers in the logs (nor on the progress bar).
    assert "arch_loss" not in logs and logs["loss"][0] > 0
    model.network.arch.arch_enabled.assign(1.0)
    assert model.sync_structure()  # the switch flipped: the step is rebuilt
    logs = model.fit(data, epochs=1, verbose=0, shuffle=False).history
    assert model.arch_optimizer.iterations.numpy() == 3 and logs["arch_loss"][0] > 0
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
    data = tf.data.Dataset.from_tensors((batch(0), batch(1))).repeat(1)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert changed(before, net.arch.alpha_variables) == [False, True]


def test_an_iteration_is_a_weight_step_then_an_architecture_step():
    # Algorithm 1, lines 4 and 6: the architecture step sees the weights the weight step
    # just produced. Three identical models: the real step, the phases in Alg. 1's order,
    # and the phases reversed (DARTS' order); only the first two agree.
    data = (batch(0), batch(1))
    models = [make_model(cells=2) for _ in range(3)]
    for m in models:
        m.network.arch.threshold.assign(0.0)  # no prune: compare the updates alone
    one_step(models[0], data)
    models[1]._weight_step(*data[0])
    models[1]._architecture_step(*data, ("reduce",), 0)
    models[2]._architecture_step(*data, ("reduce",), 0)
    models[2]._weight_step(*data[0])
    alphas = [m.network.arch.alphas["reduce"].numpy() for m in models]
    np.testing.assert_allclose(alphas[0], alphas[1], rtol=1e-5, atol=1e-7)
    assert not np.allclose(alphas[0], alphas[2], rtol=1e-5, atol=1e-7)


def set_state(model, alpha, theta, cell_type="reduce"):
    arch = model.network.arch
    arch.alphas[cell_type].assign(np.asarray(alpha, "float32"))
    arch.threshold.assign(theta)
    arch.temperature.assign(1.0)


def test_the_step_prunes_every_op_under_theta_at_once_and_records_when():
    model = make_model(cells=2)
    model.arch_optimizer.learning_rate.assign(1e-9)  # the alphas stay where they are put
    alpha = np.zeros((14, 3))
    alpha[0] = [2.0, 0.0, -2.0]  # Phi = 0.867, 0.117, 0.016: only op 2 is under 0.1
    alpha[1] = [-3.0, -3.0, 3.0]  # Phi = 0.0025, 0.0025, 0.995: two die at once
    set_state(model, alpha, theta=0.1)
    one_step(model, (batch(0), batch(1)))
    arch = model.network.arch
    mask = arch.masks["reduce"].numpy()
    np.testing.assert_array_equal(mask[0], [1, 1, 0])
    np.testing.assert_array_equal(mask[1], [0, 0, 1])
    assert mask[2:].all()  # uniform edges (Phi = 1/3) stay
    pruned_at = arch.pruned_at["reduce"].numpy()
    assert pruned_at[0, 2] == 0 and pruned_at[1, 0] == pruned_at[1, 1] == 0
    assert (pruned_at[mask > 0.5] == -1).all()
    expected = np.exp(-2.0) / (np.exp(2.0) + 1 + np.exp(-2.0))
    assert arch.pruned_weight["reduce"].numpy()[0, 2] == pytest.approx(expected, rel=1e-4)
    # The masked ops weigh 0 in the very next forward pass, before any rebuild.
    phi = model.network.edge_weights("reduce")
    assert phi[0].numpy()[2] == 0.0 and phi[1].numpy()[0] == 0.0
    # An op that falls under theta in the second iteration records global step 1.
    alpha[3] = [0.0, 0.0, -4.0]
    set_state(model, alpha, theta=0.1)
    one_step(model, (batch(2), batch(3)))
    assert arch.pruned_at["reduce"].numpy()[3, 2] == 1
    assert arch.pruned_at["reduce"].numpy()[0, 2] == 0  # earlier deaths keep their step


def test_an_edge_never_loses_its_last_op_even_under_an_absurd_threshold():
    model = make_model(cells=2)
    model.arch_optimizer.learning_rate.assign(1e-9)
    set_state(model, np.zeros((14, 3)), theta=0.9)  # every Phi (1/3) is under theta
    one_step(model, (batch(0), batch(1)))
    mask = model.network.arch.masks["reduce"].numpy()
    np.testing.assert_array_equal(mask.sum(axis=1), np.ones(14))


def test_pruned_ops_and_decided_edges_keep_their_alphas():
    model = make_model(cells=2)
    arch = model.network.arch
    mask = np.ones((14, 3), np.float32)
    mask[0, 1] = 0.0  # a pruned op on an undecided edge
    mask[1] = [0.0, 0.0, 1.0]  # a decided edge
    arch.masks["reduce"].assign(mask)
    alpha = np.random.default_rng(0).normal(size=(14, 3)).astype("float32")
    arch.alphas["reduce"].assign(alpha)
    arch.threshold.assign(0.0)
    model.sync_structure()
    for i in range(3):
        one_step(model, (batch(i), batch(i + 10)))
    after = arch.alphas["reduce"].numpy()
    assert after[0, 1] == alpha[0, 1]
    np.testing.assert_array_equal(after[1], alpha[1])
    assert not np.allclose(after[0, [0, 2]], alpha[0, [0, 2]])
    assert not np.allclose(after[2:], alpha[2:])


def test_the_in_step_prune_agrees_with_the_pure_rule():
    from asap_keras.search import schedules
    from asap_keras.space.relaxation import op_weights

    net = SearchNetwork(3, 1, OPS, channels=2, cells=2, temperature=0.3)
    arch = net.arch
    rng = np.random.default_rng(3)
    for trial in range(5):
        alpha = rng.normal(size=(14, 3)).astype("float32")
        alive = rng.random((14, 3)) > 0.3
        alive[np.arange(14), rng.integers(0, 3, 14)] = True
        arch.alphas["reduce"].assign(alpha)
        arch.masks["reduce"].assign(alive.astype("float32"))
        arch.threshold.assign(0.25)
        arch.prune(("reduce",), tf.constant(trial))
        expected = schedules.prune(op_weights(alpha, 0.3, alive), alive, 0.25)
        np.testing.assert_array_equal(arch.masks["reduce"].numpy() > 0.5, expected)


def test_an_input_no_live_op_reads_leaves_the_weight_step():
    # NAP prunes whole edges: here every edge leaving input 0 of the normal cells dies
    # (edges 0, 2, 5, 9 in DARTS order). The weight step must not ask for the gradient of
    # preprocess0, which now feeds nothing (it used to fail with "None values not supported").
    model = make_model()
    net = model.network
    mask = net.arch.masks["normal"].numpy()
    mask[[0, 2, 5, 9]] = 0.0
    net.arch.masks["normal"].assign(mask)
    model.sync_structure()
    normal = [c for c in net.cells if not c.reduction]
    assert not any(c.input_read(0) for c in normal) and all(c.input_read(1) for c in normal)
    live = {id(v) for v in net.live_weight_variables()}
    for cell in normal:
        assert not live & {id(v) for v in cell.preprocess0.trainable_weights}
        assert {id(v) for v in cell.preprocess1.trainable_weights} <= live
    frozen = [v for c in normal for v in c.preprocess0.trainable_weights]
    before = snapshot(frozen)
    one_step(model, (batch(0), batch(1)))
    assert not any(changed(before, frozen))
    assert np.isfinite(model.loss_tracker.result().numpy())


def test_a_step_that_still_computes_dead_ops_trains_as_the_rebuilt_step_does():
    # What the "cost" rebuild rule relies on: until a rebuild, a dead op's term is an exact 0,
    # so steps on the stale structure move the alphas and the live weights as steps on the
    # rebuilt one do, to rounding (a rebuild reorders TensorFlow's gradient sums).
    models = [make_model(cells=2), make_model(cells=2)]
    for model in models:
        model.network.arch.threshold.assign(0.0)  # no prune during the comparison
        arch = model.network.arch
        for cell_type in ("normal", "reduce"):
            mask = arch.masks[cell_type].numpy()
            mask[::2, 0] = 0.0
            mask[1::3, 1] = 0.0
            arch.masks[cell_type].assign(mask)
    rebuilt, stale = models
    rebuilt.sync_structure("prune")
    assert stale.network.traced_op_count() > rebuilt.network.traced_op_count()
    for step in range(4):
        for model in models:
            one_step(model, (batch(2 * step), batch(2 * step + 1)))
    arch_r, arch_s = rebuilt.network.arch, stale.network.arch
    np.testing.assert_array_equal(arch_r.masks["reduce"].numpy(),
                                  arch_s.masks["reduce"].numpy())
    np.testing.assert_allclose(arch_r.alphas["reduce"].numpy(),
                               arch_s.alphas["reduce"].numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(arch_r.alphas["reduce"].numpy(), 0.0)  # they did move
    live = {id(v) for v in rebuilt.network.live_weight_variables()}
    pairs = [(r, s) for r, s in zip(rebuilt.network.weight_variables(),
                                    stale.network.weight_variables()) if id(r) in live]
    assert len(pairs) == len(live)
    for mine, theirs in pairs:  # the two supernets are built alike: same order, same shapes
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=mine.path)
    x = batch(99)[0]
    np.testing.assert_allclose(rebuilt(x).numpy(), stale(x).numpy(), rtol=1e-5, atol=1e-5)
