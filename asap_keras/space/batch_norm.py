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


TRAIN, FROZEN, INFER = "train", "frozen", "infer"


def mode(training) -> str:
    """The BatchNorm mode of a call: `INFER` (moving statistics) unless `training`; in
    training `FROZEN` inside `moving_statistics_frozen()` (batch statistics, the moving
    ones neither read nor updated), else `TRAIN` (batch statistics, moving ones updated)."""
    if not training:
        return INFER
    return FROZEN if statistics_frozen() else TRAIN


def variables(state, bn_mode):
    """The variables `normalize` reads from `state` in `bn_mode`, in its order: scale and
    offset if affine, then the moving mean and variance unless `FROZEN`."""
    out = [state["gamma"], state["beta"]] if "gamma" in state else []
    return out if bn_mode == FROZEN else out + [state["mean"], state["var"]]


def statistics(state, bn_mode):
    """The variables `normalize`'s updates are for: moving mean and variance in `TRAIN`."""
    return [state["mean"], state["var"]] if bn_mode == TRAIN else []


def normalize(x, take, affine, bn_mode, updates):
    """Normalizes `x` with values taken from the iterator `take` (`variables`' order),
    appending the updated moving mean and variance to `updates` in `TRAIN` mode."""
    if affine:
        scale, offset = next(take), next(take)
    else:
        scale, offset = unit_scale_offset(x.shape[-1])
    if bn_mode == FROZEN:
        return batch_statistics_only(x, scale, offset)
    mean, variance = next(take), next(take)
    if bn_mode == TRAIN:
        # The fused op moves the statistics itself (exponential_avg_factor), which keeps
        # the traced graph several nodes smaller per BatchNorm.
        y, new_mean, new_variance = fused_training(x, scale, offset, mean, variance)
        updates += (new_mean, new_variance)
        return y
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, scale, offset, mean=mean, variance=variance,
                                               epsilon=EPSILON, is_training=False)
    return y


def apply(x, state, training):
    """Normalizes `x` with the BatchNorm `state` (moving "mean" and "var" Variables, and
    "gamma" and "beta" if affine), updating the moving statistics when training outside
    `moving_statistics_frozen()`."""
    bn_mode = mode(training)
    updates = []
    take = iter([v.value for v in variables(state, bn_mode)])
    y = normalize(x, take, "gamma" in state, bn_mode, updates)
    for variable, value in zip(statistics(state, bn_mode), updates):
        variable.assign(value)
    return y
