"""The search under `runtime.precision` and `runtime.jit_compile`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.config import load_config
from asap_keras.search import checkpoint, gradients
from asap_keras.search.runner import build_model, search_run
from asap_keras.search.runner import configure_runtime as _configure_runtime
from tests.search.test_search_run import InterruptAt, read_events

# Fast tiny searches: 2 reduction cells of 2 nodes (5 edges), 3 ops; T0 below the grace
# temperature, so both epochs run architecture steps and prune.
TINY = ["space.cells=2", "space.nodes=2", 'space.ops=["sep_conv_3x3","max_pool_3x3",'
        '"skip_connect"]', "data.limit=200", "search.epochs=2", "search.anneal.t0=0.9"]


def tiny_config(configs_dir, tmp_path, *overrides):
    return load_config(configs_dir / "smoke.toml",
                       [f"run.runs_dir='{tmp_path}'", *TINY, *overrides])


def tiny_model(configs_dir, tmp_path, *overrides):
    cfg = tiny_config(configs_dir, tmp_path, *overrides)
    keras.utils.set_random_seed(0)
    return build_model(cfg, (8, 8, 1), 10, steps_per_epoch=2)


def batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(0, 16, (n, 8, 8, 1)).astype("float32")),
            tf.constant(rng.integers(0, 10, n)))


def test_the_supernet_computes_in_float16_and_keeps_the_search_state_float32(configs_dir,
                                                                            tmp_path):
    model = tiny_model(configs_dir, tmp_path, "runtime.precision='mixed_float16'")
    assert keras.config.dtype_policy().name == "float32"  # restored once built
    net = model.network
    assert model.dtype_policy.name == net.dtype_policy.name == "mixed_float16"
    assert {v.dtype for v in net.weights} == {"float32"}  # alphas, masks, T, BN, kernels
    seen = []
    weights_of = net.arch.weights_of
    net.arch.weights_of = lambda t: seen.append(weights_of(t)) or seen[-1]
    logits = net(batch()[0], training=True)
    assert logits.dtype == tf.float16
    assert seen and {phi.dtype for phi in seen} == {tf.float32}  # the relaxation's softmax
    loss = gradients.cross_entropy(batch()[1], logits)
    assert loss.dtype == tf.float32 and np.isfinite(float(loss))
    for optimizer in (model.weight_optimizer, model.arch_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert optimizer.built and optimizer.dynamic_scale.dtype == "float32"
    assert model.optimizer is model.weight_optimizer
    assert model.jit_compile is False  # "auto" on a machine without a GPU


def test_bfloat16_needs_no_loss_scaling_and_plain_float32_is_unchanged(configs_dir, tmp_path):
    bf16 = tiny_model(configs_dir, tmp_path, "runtime.precision='mixed_bfloat16'")
    assert bf16.network.dtype_policy.name == "mixed_bfloat16"
    assert not isinstance(bf16.weight_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(bf16.arch_optimizer, keras.optimizers.LossScaleOptimizer)
    plain = tiny_model(configs_dir, tmp_path)
    assert plain.network.dtype_policy.name == "float32"
    assert plain.network(batch()[0]).dtype == tf.float32


def test_jit_compile_true_is_passed_to_compile(configs_dir, tmp_path):
    from tensorflow.python.framework import config as tf_config

    was_deterministic = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()  # as configure_runtime does for deterministic=false
    try:
        model = tiny_model(configs_dir, tmp_path, "runtime.jit_compile=true",
                           "runtime.deterministic=false")
        assert model.jit_compile is True
        assert tiny_model(configs_dir, tmp_path, "runtime.jit_compile=false").jit_compile is False
    finally:
        if was_deterministic:
            tf_config.enable_op_determinism()


def test_configure_runtime_switches_op_determinism_both_ways():
    from tensorflow.python.framework import config as tf_config

    was = tf_config.is_op_determinism_enabled()
    try:
        _configure_runtime(0, deterministic=False)
        assert not tf_config.is_op_determinism_enabled()
        _configure_runtime(0, deterministic=True)
        assert tf_config.is_op_determinism_enabled()
    finally:
        (tf_config.enable_op_determinism if was else tf_config.disable_op_determinism)()


def test_an_overflowing_float16_weight_step_is_skipped(configs_dir, tmp_path):
    model = tiny_model(configs_dir, tmp_path, "runtime.precision='mixed_float16'")
    model.sync_structure(force=True)  # grace: weight steps only
    weights = model.network.weight_variables()
    before = [v.numpy().copy() for v in weights]
    optimizer = model.weight_optimizer
    optimizer.dynamic_scale.assign(2.0**40)  # the float16 gradients overflow
    data = tf.data.Dataset.from_tensors((batch(1), batch(2)))
    history = model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, weights))
    assert float(optimizer.dynamic_scale.numpy()) == 2.0**39
    assert int(optimizer.iterations.numpy()) == 1  # the skipped step still counts
    optimizer.dynamic_scale.assign(2.0**8)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, weights))
    assert float(optimizer.dynamic_scale.numpy()) == 2.0**8


def test_the_bfloat16_architecture_gradient_follows_the_float32_one(configs_dir, tmp_path):
    f32 = tiny_model(configs_dir, tmp_path)
    bf16 = tiny_model(configs_dir, tmp_path, "runtime.precision='mixed_bfloat16'")
    for a, b in zip(f32.network.weights, bf16.network.weights, strict=True):
        b.assign(a)
    x, y = batch(3, n=32)
    grads = [gradients.first_order(m, (x, y), [m.network.arch.alphas["reduce"]])[2][0]
             for m in (f32, bf16)]
    assert grads[1].dtype == tf.float32
    a, b = (g.numpy().ravel() for g in grads)
    # bfloat16 activations round to 3 significant digits; the alpha gradient, a small
    # difference of large terms, moves by ~10% here, not more.
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.3


def test_a_bfloat16_search_prunes_and_restores_the_policy(configs_dir, tmp_path):
    outcome = search_run(tiny_config(configs_dir, tmp_path, "runtime.precision='mixed_bfloat16'"))
    assert keras.config.dtype_policy().name == "float32"
    log = read_events(outcome.run_path)
    epochs = [e for e in log if e.kind == "epoch"]
    assert len(epochs) == 2 and not epochs[0]["grace"]
    assert all(np.isfinite(e["metrics"]["loss"]) and np.isfinite(e["metrics"]["arch_loss"])
               for e in epochs)
    assert any(e.kind == "prune" for e in log) and epochs[-1]["sparsity"] > 0
    assert outcome.genotype.reduce and log[-1]["status"] == "finished"


def test_a_float16_search_checkpoints_its_loss_scale_and_resumes(configs_dir, tmp_path):
    cfg = tiny_config(configs_dir, tmp_path, "runtime.precision='mixed_float16'")
    with pytest.raises(KeyboardInterrupt):
        search_run(cfg, extra_callbacks=[InterruptAt(epoch=1, batch=0)])
    assert keras.config.dtype_policy().name == "float32"
    (run,) = list(tmp_path.iterdir())
    ((_, path),) = checkpoint.list_checkpoints(run / "checkpoints")
    model = build_model(cfg, (8, 8, 1), 10, steps_per_epoch=2)
    # Each loss-scale optimizer adds 4 variables (its own iteration and learning rate,
    # unused; the step counter and the dynamic scale) before the wrapped one's.
    for group in ("weight_optimizer", "arch_optimizer"):
        optimizer = getattr(model, group)
        assert len(optimizer.variables) == 4 + len(optimizer.inner_optimizer.variables)
        index = [v.path for v in optimizer.variables].index(optimizer.dynamic_scale.path)
        with np.load(path) as saved:
            assert len([n for n in saved.files if n.startswith(group)]) == len(
                optimizer.variables)
            scale = float(saved[f"{group}/{index:05d}"])
        optimizer.dynamic_scale.assign(1.0)
        assert checkpoint.restore(model, path) == 1
        assert float(optimizer.dynamic_scale.numpy()) == scale
    assert int(model.weight_optimizer.iterations.numpy()) == 2  # one epoch of 2 steps
    outcome = search_run(resume=run)
    log = read_events(run)
    assert [e["start_epoch"] for e in log if e.kind == "run_start"] == [0, 1]
    assert [e["epoch"] for e in log if e.kind == "epoch"] == [0, 1]
    assert all(np.isfinite(e["metrics"]["loss"]) for e in log if e.kind == "epoch")
    assert log[-1]["status"] == "finished" and outcome.genotype.reduce
