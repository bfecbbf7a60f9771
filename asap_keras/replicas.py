"""Gradient plumbing under tf.distribute: global sums for clipping, one optimizer update."""

from __future__ import annotations

import tensorflow as tf


def num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def sum_over_replicas(grads):
    """All-reduces gradients when replicated, so clipping sees the global gradient."""
    if num_replicas() == 1:
        return grads
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)


def apply_summed(optimizer, grads, variables) -> None:
    """Applies gradients already summed over replicas (the optimizer sums once more)."""
    replicas = num_replicas()
    if replicas > 1:
        grads = [g / replicas for g in grads]
    optimizer.apply(grads, variables)
