"""Gradient plumbing under tf.distribute: global sums for clipping, one optimizer update."""

from __future__ import annotations

import contextlib

import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops

from asap_keras import precision

_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


@contextlib.contextmanager
def custom_gradients_released():
    """Unregisters the custom gradients that tf.distribute's all-reduce adds while tracing.

    `ReplicaContext.all_reduce` (called by ours and by every Keras optimizer's `apply`) is a
    `tf.custom_gradient`; traced, it registers its backward function in TensorFlow's global
    gradient registry under a fresh name and never removes it. That function closes over the
    step's tensors, so every traced step graph stays alive for the life of the process: a
    search that rebuilds its step after prunes grew by about 1.4 GB per run here (and a test
    suite of searches past 24 GB). Nothing differentiates through these all-reduces (they
    come after the gradients are taken), so their entries are dropped once the call returns.
    """
    registry = getattr(getattr(tf_ops, "gradient_registry", None), "_registry", None)
    if tf.executing_eagerly() or not isinstance(registry, dict):
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in [k for k in registry if k not in before
                     and k.startswith(_CUSTOM_GRADIENT_PREFIX)]:
            del registry[name]


def sum_over_replicas(grads):
    """All-reduces gradients when replicated, so clipping sees the global gradient."""
    if num_replicas() == 1:
        return grads
    with custom_gradients_released():
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM,
                                                              grads)


def clip_by_global_norm(grads, clip_norm):
    """`tf.clip_by_global_norm(grads, clip_norm)[0]`, the same numbers (a non-finite norm
    still turns every gradient into NaN, for a loss-scale optimizer to skip the step),
    without its `Identity` node per gradient: the supernet has over 500 weight variables.
    """
    norm = tf.sqrt(tf.add_n([tf.nn.l2_loss(g) for g in grads]) * 2.0)
    clip = tf.cast(clip_norm, norm.dtype)
    scale = clip * tf.minimum(1.0 / norm, 1.0 / clip) + (norm - norm)
    return [g * scale for g in grads]


def apply_summed(optimizer, grads, variables) -> None:
    """Applies gradients already summed over replicas (the optimizer sums once more).

    The gradients are true ones: under loss scaling, already unscaled (`precision.apply`).
    """
    replicas = num_replicas()
    with custom_gradients_released():
        precision.apply(optimizer, grads, variables,
                        factor=1.0 / replicas if replicas > 1 else None)


def _spans_workers(strategy=None) -> bool:
    strategy = strategy or tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def step_logs(metrics) -> dict:
    """A train or test step's logs, `{name: result}` of `metrics`, in a form Keras' `fit`
    can reduce on every strategy.

    Under MultiWorkerMirroredStrategy Keras 3 averages each replica's logs with
    `strategy.reduce("MEAN", value, axis=0)`, which refuses a scalar (tensorflow#72388);
    there each result is given shape [1] (the replicas' values are equal: the trackers are
    synchronised), and fit reduces it back to the scalar.
    """
    logs = {m.name: m.result() for m in metrics}
    if _spans_workers():
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


class BuiltForWorkers:
    """A `keras.Model` mixin for models built before `fit` (every variable made in the
    strategy scope at construction): Keras 3 would otherwise run a symbolic build that
    averages a first data batch across workers, which fails under MultiWorkerMirroredStrategy
    (tensorflow#72388). Elsewhere Keras' own behaviour is kept.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self.built and _spans_workers(self.distribute_strategy):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
