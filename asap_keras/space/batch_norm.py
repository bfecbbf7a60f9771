"""BatchNorm as the candidate ops compute it: the fused kernel, called with as few graph ops
as the traced supernet step allows (see benchmarks/README.md), and a scope in which
training-mode BatchNorm leaves its moving statistics alone (the architecture phase).
"""

from __future__ import annotations

import contextlib
import threading

import tensorflow as tf

from asap_keras.space.graph_cache import graph_cached

MOMENTUM = 0.9
EPSILON = 1e-5

_UNIT_CACHE_ATTR = "_asap_unit_scale_offset"
_EMPTY_CACHE_ATTR = "_asap_empty_statistics"
_scope = threading.local()


@contextlib.contextmanager
def moving_statistics_frozen():
    """Within it, training-mode BatchNorm normalizes with the batch's statistics and neither
    reads nor updates its moving statistics.

    The search's architecture phase runs in it: its forward pass only serves the gradient
    towards alpha, and the moving statistics follow the weight phase's batches alone (as
    the virtual passes of DARTS' second order leave them alone). Each BatchNorm of that
    phase then traces without its two reads and two assignments. Read at trace time: a
    step traced inside it keeps that behaviour.
    """
    previous = getattr(_scope, "frozen", False)
    _scope.frozen = True
    try:
        yield
    finally:
        _scope.frozen = previous


def statistics_frozen() -> bool:
    """Whether the caller is inside `moving_statistics_frozen()`."""
    return getattr(_scope, "frozen", False)


def unit_scale_offset(channels, dtype=tf.float32):
    """Ones and zeros for a non-affine BatchNorm, created once per traced graph."""
    return graph_cached(_UNIT_CACHE_ATTR, (channels, dtype),
                         lambda: (tf.ones((channels,), dtype), tf.zeros((channels,), dtype)))


def _training_kernel(x, scale, offset, mean, variance, factor):
    """The fused training kernel's outputs (y, updated moving mean, updated moving
    variance), the moving ones moved by `factor` towards the batch's.

    A float32 input takes the first `FusedBatchNorm` kernel, not V3 (the same computation):
    the gradient tape knows that V1's gradient ignores its statistics outputs, while for
    V3 it builds a zeros constant for each of them, 4 unused graph nodes per BatchNorm in
    every traced step (2,872 of the digits supernet's 34,171). float16/bfloat16 inputs
    need V3 (V1 is float32 only).
    """
    kernel = (tf.raw_ops.FusedBatchNorm if x.dtype == tf.float32
              else tf.raw_ops.FusedBatchNormV3)
    outputs = kernel(x=x, scale=scale, offset=offset, mean=mean, variance=variance,
                     epsilon=EPSILON, exponential_avg_factor=factor, is_training=True)
    return outputs[0], outputs[1], outputs[2]


def fused_training(x, scale, offset, mean, variance):
    """Training-mode fused BatchNorm: (y, updated moving mean, updated moving variance)."""
    return _training_kernel(x, scale, offset, mean, variance, 1.0 - MOMENTUM)


def batch_statistics_only(x, scale, offset):
    """Training-mode fused BatchNorm that ignores any moving statistics: the kernel takes
    empty ones (`exponential_avg_factor` 1), so no variable is read."""
    empty = graph_cached(_EMPTY_CACHE_ATTR, None, lambda: tf.constant([], tf.float32))
    return _training_kernel(x, scale, offset, empty, empty, 1.0)[0]


def apply(x, state, training):
    """Normalizes `x` with the BatchNorm `state` (moving "mean" and "var" Variables, and
    "gamma" and "beta" if affine), updating the moving statistics when training outside
    `moving_statistics_frozen()`."""
    if "gamma" in state:
        scale, offset = state["gamma"].value, state["beta"].value
    else:
        scale, offset = unit_scale_offset(x.shape[-1])
    if training and statistics_frozen():
        return batch_statistics_only(x, scale, offset)
    if training:
        # The fused op updates the moving statistics itself (exponential_avg_factor),
        # which keeps the traced graph several nodes smaller per BatchNorm.
        y, mean, var = fused_training(x, scale, offset, state["mean"].value,
                                      state["var"].value)
        state["mean"].assign(mean)
        state["var"].assign(var)
        return y
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(
        x, scale, offset, mean=state["mean"].value, variance=state["var"].value,
        epsilon=EPSILON, is_training=False)
    return y
