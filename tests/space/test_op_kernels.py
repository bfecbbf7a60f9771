"""The candidate ops' direct kernel calls against TensorFlow's public wrappers.

The ops call raw kernels (fewer graph nodes per trace); the reference for each is the
`tf.nn` function it replaces, forward and gradient.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.replicas import clip_by_global_norm
from asap_keras.space import batch_norm, ops


def _values_and_gradients(fn, x, kernel):
    x, kernel = tf.Variable(x), tf.Variable(kernel)
    with tf.GradientTape() as tape:
        y = fn(x, kernel)
        # A non-uniform upstream gradient, so every position's share is checked.
        probe = tf.reshape(tf.sin(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y))
        loss = tf.reduce_sum(y * probe)
    return [y.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, kernel])]


@pytest.mark.parametrize("size", [(8, 8), (7, 9), (3, 3), (1, 2)])
@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_dilated_depthwise_is_tf_nn_depthwise_conv2d(size, k, dilation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    kernel = rng.normal(size=(k, k, 3, 1)).astype("float32")
    ours = _values_and_gradients(lambda a, w: ops._dilated_depthwise(a, w, dilation), x, kernel)
    ref = _values_and_gradients(
        lambda a, w: tf.nn.depthwise_conv2d(a, w, (1, 1, 1, 1), "SAME",
                                            dilations=(dilation, dilation)), x, kernel)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_undilated_depthwise_is_tf_nn_depthwise_conv2d(stride):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 8, 4)).astype("float32")
    kernel = rng.normal(size=(3, 3, 4, 1)).astype("float32")
    ours = _values_and_gradients(lambda a, w: ops._depthwise(a, w, stride), x, kernel)
    ref = _values_and_gradients(
        lambda a, w: tf.nn.depthwise_conv2d(a, w, (1, stride, stride, 1), "SAME"), x, kernel)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_training_batchnorm_is_the_v3_kernel(dtype):
    """Output, updated moving statistics and input gradient equal the public wrapper's."""
    rng = np.random.default_rng(2)
    x = tf.Variable(tf.cast(rng.normal(2.0, 3.0, size=(4, 5, 5, 6)), dtype))
    scale, offset = tf.ones(6), tf.zeros(6)
    mean = tf.constant(rng.normal(size=6).astype("float32"))
    var = tf.constant(rng.uniform(0.5, 2.0, size=6).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        ours = batch_norm.fused_training(x, scale, offset, mean, var)
        ref = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, mean=mean, variance=var, epsilon=batch_norm.EPSILON,
            is_training=True, exponential_avg_factor=1.0 - batch_norm.MOMENTUM)
        losses = [tf.reduce_sum(tf.cast(out[0], tf.float32) ** 2) for out in (ours, ref)]
    tol = 1e-5 if dtype == tf.float32 else 1e-2
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(tf.cast(a, tf.float32), tf.cast(b, tf.float32),
                                   rtol=tol, atol=tol)
    np.testing.assert_allclose(tf.cast(tape.gradient(losses[0], x), tf.float32),
                               tf.cast(tape.gradient(losses[1], x), tf.float32),
                               rtol=tol, atol=tol)
    # The moving mean moved by (1 - momentum) of the way to the batch mean.
    batch_mean = tf.reduce_mean(tf.cast(x, tf.float32), axis=(0, 1, 2))
    expected = batch_norm.MOMENTUM * mean + (1.0 - batch_norm.MOMENTUM) * batch_mean
    np.testing.assert_allclose(ours[1], expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_frozen_statistics_normalize_by_the_batch_and_leave_the_moving_ones(dtype):
    """Inside `moving_statistics_frozen()` a training BatchNorm is the public wrapper's
    batch-statistics one (output and input gradient), its moving statistics stay put, and
    a traced call reads and assigns no variable."""
    rng = np.random.default_rng(4)
    x = tf.Variable(tf.cast(rng.normal(2.0, 3.0, size=(4, 5, 5, 6)), dtype))
    state = {"mean": keras.Variable(rng.normal(size=6).astype("float32"), autocast=False),
             "var": keras.Variable(rng.uniform(0.5, 2.0, size=6).astype("float32"),
                                   autocast=False)}
    before = [state["mean"].numpy(), state["var"].numpy()]
    with tf.GradientTape(persistent=True) as tape:
        with batch_norm.moving_statistics_frozen():
            ours = batch_norm.apply(x, state, training=True)
        ref, _, _ = tf.compat.v1.nn.fused_batch_norm(x, tf.ones(6), tf.zeros(6),
                                                     epsilon=batch_norm.EPSILON,
                                                     is_training=True)
        losses = [tf.reduce_sum(tf.cast(y, tf.float32) ** 2) for y in (ours, ref)]
    tol = 1e-5 if dtype == tf.float32 else 1e-2
    np.testing.assert_allclose(tf.cast(ours, tf.float32), tf.cast(ref, tf.float32),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(tf.cast(tape.gradient(losses[0], x), tf.float32),
                               tf.cast(tape.gradient(losses[1], x), tf.float32),
                               rtol=tol, atol=tol)
    np.testing.assert_array_equal(state["mean"].numpy(), before[0])
    np.testing.assert_array_equal(state["var"].numpy(), before[1])
    assert not batch_norm.statistics_frozen()  # the scope ended with the block

    def traced_op_types(frozen):
        def step(a):
            if frozen:
                with batch_norm.moving_statistics_frozen():
                    return batch_norm.apply(a, state, training=True)
            return batch_norm.apply(a, state, training=True)
        graph = tf.function(step).get_concrete_function(tf.TensorSpec(x.shape, dtype)).graph
        return {op.type for op in graph.get_operations()}

    assert not {"ReadVariableOp", "AssignVariableOp"} & traced_op_types(frozen=True)
    assert {"ReadVariableOp", "AssignVariableOp"} <= traced_op_types(frozen=False)
    # Outside the scope the statistics move again.
    batch_norm.apply(x, state, training=True)
    assert not np.array_equal(state["mean"].numpy(), before[0])


@pytest.mark.parametrize("magnitude", [0.01, 100.0])
def test_global_norm_clip_is_tensorflows(magnitude):
    rng = np.random.default_rng(3)
    grads = [tf.constant(rng.normal(size=s) * magnitude, tf.float32)
             for s in [(3, 3, 4, 1), (1, 1, 4, 4), (10,)]]
    ref, _ = tf.clip_by_global_norm(grads, 5.0)
    for a, b in zip(clip_by_global_norm(grads, 5.0), ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    norm = np.sqrt(sum(np.sum(g.numpy() ** 2) for g in clip_by_global_norm(grads, 5.0)))
    assert norm == pytest.approx(min(5.0, np.sqrt(sum(np.sum(g.numpy() ** 2) for g in grads))),
                                 rel=1e-5)


def test_global_norm_clip_of_a_non_finite_gradient_is_nan():
    """A loss-scale optimizer skips such a step: every clipped gradient must say so."""
    clipped = clip_by_global_norm([tf.constant([np.inf, 1.0]), tf.constant([2.0])], 5.0)
    assert all(np.isnan(g.numpy()).all() for g in clipped)
