"""Mixed precision (`runtime.precision`): the dtype policy models are built under, loss scaling.

Under "mixed_float16" and "mixed_bfloat16" every variable stays float32 and the layers
compute in the half type; the architecture state (alphas, masks, T) and its softmax, the
BatchNorm statistics and the loss stay float32. float16 needs loss scaling: the custom
steps multiply the loss by the `LossScaleOptimizer`'s dynamic scale before differentiating
(`scale_loss`), divide it out of the gradients before clipping and decay (`unscale`), and
apply through the optimizer (`apply`), which skips a step whose gradients are not finite
and lowers its scale. bfloat16 has float32's exponent range and needs none.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Keras' global dtype policy set to `precision` inside; the previous one restored after.

    A layer takes the global policy when it is constructed, so the models built inside keep
    it; anything built later in the process (another run, a test) gets the previous one.

    Args:
        precision: "float32", "mixed_float16" or "mixed_bfloat16".
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def with_loss_scaling(optimizer, policy):
    """`optimizer` wrapped in a `keras.optimizers.LossScaleOptimizer` under "mixed_float16"
    (as `keras.Model.compile(auto_scale_loss=True)` wraps its optimizer); else unchanged.

    Args:
        optimizer: a Keras optimizer (or an already wrapped one, returned as is).
        policy: the model's `keras.DTypePolicy`.
    """
    if policy.name != "mixed_float16" or isinstance(optimizer,
                                                    keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{optimizer.name}_loss_scale")


def inner(optimizer):
    """The optimizer that updates the variables (the wrapped one under loss scaling)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer


def loss_scale(optimizer):
    """The current dynamic loss scale (a float32 tensor), or None without loss scaling."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return tf.convert_to_tensor(optimizer.dynamic_scale.value)
    return None


def scale_loss(optimizer, loss):
    """`loss` times the optimizer's loss scale: what to differentiate (`loss` without one)."""
    scale = loss_scale(optimizer)
    return loss if scale is None else loss * tf.cast(scale, loss.dtype)


def unscale(optimizer, grads):
    """Gradients of a `scale_loss` loss divided by the same scale: the true gradients."""
    scale = loss_scale(optimizer)
    return grads if scale is None else [None if g is None else g / scale for g in grads]


def finite_or_zero(optimizer, grads):
    """The gradients, or zeros where a loss-scaled step will be skipped (any not finite).

    For state a method accumulates from gradients (accumulated-gradient scores): a step
    the `LossScaleOptimizer` skips must leave no NaN behind.
    """
    if loss_scale(optimizer) is None:
        return grads
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
    return [tf.where(finite, g, tf.zeros_like(g)) for g in grads]


def apply(optimizer, grads, variables, factor=None) -> None:
    """`optimizer.apply(grads * factor, variables)` for true (unscaled) gradients.

    A `LossScaleOptimizer` divides what it is given by its scale after checking it is
    finite, so it gets the gradients at that scale (a power of two: exact). A step it skips
    does not count in the wrapped optimizer's `iterations`; it is counted here, so that
    `iterations` stays the number of steps taken (the global step of events, the epoch a
    resume starts from, the learning-rate schedule's step).

    Args:
        optimizer: a Keras optimizer, loss-scaled or not.
        grads: gradients (already clipped, decayed), one per variable.
        variables: the variables to update.
        factor: a scalar the gradients are multiplied by first (None: 1).
    """
    scale = loss_scale(optimizer)
    if scale is not None:
        factor = scale if factor is None else scale * factor
    if factor is not None:
        grads = [g * factor for g in grads]
    optimizer.apply(grads, variables)
    if scale is not None:  # a skipped step halved the scale; a finite one kept or doubled it
        skipped = optimizer.dynamic_scale.value < scale
        optimizer.iterations.assign_add(tf.cast(skipped, optimizer.iterations.dtype))
