"""The dtype policy scope and the loss-scaling helpers of custom training steps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras import precision
from asap_keras.replicas import apply_summed


def scaled_sgd():
    optimizer = precision.with_loss_scaling(keras.optimizers.SGD(0.1, momentum=0.9),
                                            keras.DTypePolicy("mixed_float16"))
    return optimizer


def test_the_policy_is_set_inside_and_restored_after_even_on_error():
    assert keras.config.dtype_policy().name == "float32"
    with precision.dtype_policy("mixed_bfloat16"):
        layer = keras.layers.Dense(2)
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(RuntimeError), precision.dtype_policy("mixed_float16"):
        raise RuntimeError
    assert keras.config.dtype_policy().name == "float32"


def test_only_float16_wraps_the_optimizer_and_only_once():
    sgd = keras.optimizers.SGD(0.1)
    for name in ("float32", "mixed_bfloat16"):
        assert precision.with_loss_scaling(sgd, keras.DTypePolicy(name)) is sgd
    wrapped = precision.with_loss_scaling(sgd, keras.DTypePolicy("mixed_float16"))
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert precision.inner(wrapped) is sgd and precision.inner(sgd) is sgd
    assert precision.with_loss_scaling(wrapped, keras.DTypePolicy("mixed_float16")) is wrapped
    assert precision.loss_scale(sgd) is None
    assert precision.scale_loss(sgd, tf.constant(2.0)) == 2.0


def test_true_gradients_through_the_loss_scale_optimizer_update_as_the_inner_one():
    a, b = keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(3, "float32"))
    scaled, plain = scaled_sgd(), keras.optimizers.SGD(0.1, momentum=0.9)
    scaled.build([a])
    loss = tf.constant(3.0)
    assert float(precision.scale_loss(scaled, loss)) == 3.0 * 2.0**15
    for g in ([0.5, -1.0, 2.0], [1.0, 1e-3, -4.0]):
        grads = precision.unscale(scaled, [tf.constant(g) * 2.0**15])
        apply_summed(scaled, grads, [a])
        plain.apply([tf.constant(g)], [b])
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # the scale is a power of two
    assert int(scaled.iterations.numpy()) == 2


def test_a_step_with_infinite_gradients_is_skipped_counted_and_lowers_the_scale():
    v = keras.Variable(np.ones(3, "float32"))
    optimizer = scaled_sgd()
    optimizer.build([v])
    for bad in (np.inf, np.nan):
        scale = float(optimizer.dynamic_scale.numpy())
        grads = [tf.constant([1.0, bad, 0.0])]
        # What a method may accumulate from such a step: nothing.
        seen = precision.finite_or_zero(optimizer, grads)
        np.testing.assert_array_equal(seen[0].numpy(), np.zeros(3))
        apply_summed(optimizer, grads, [v])
        np.testing.assert_array_equal(v.numpy(), np.ones(3))
        assert float(optimizer.dynamic_scale.numpy()) == scale / 2
    # Skipped steps still count: iterations is the number of steps taken.
    assert int(optimizer.iterations.numpy()) == 2
    apply_summed(optimizer, [tf.constant([1.0, 1.0, 1.0])], [v])
    assert int(optimizer.iterations.numpy()) == 3 and not np.array_equal(v.numpy(), np.ones(3))
    np.testing.assert_array_equal(
        precision.finite_or_zero(optimizer, [tf.constant([1.0, 2.0])])[0].numpy(), [1.0, 2.0])


def test_the_skip_is_counted_inside_a_traced_step():
    v = keras.Variable(np.ones(2, "float32"))
    optimizer = scaled_sgd()
    optimizer.build([v])

    @tf.function
    def step(g):
        apply_summed(optimizer, [g], [v])

    step(tf.constant([np.inf, 1.0], tf.float32))
    step(tf.constant([1.0, 1.0], tf.float32))
    assert int(optimizer.iterations.numpy()) == 2
    assert float(optimizer.dynamic_scale.numpy()) == 2.0**14
    np.testing.assert_allclose(v.numpy(), [0.9, 0.9])
