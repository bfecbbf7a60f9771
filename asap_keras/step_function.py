"""The traced train and test functions: one `tf.function` per step, not two nested.

Keras 3 wraps a model's step in a `tf.function` (so it can carry `jit_compile`) and calls
that from a second `tf.function` that takes the batch from the iterator. Without XLA the
inner function only adds work: its graph is traced as a function of its own, instantiated,
and called through a `PartitionedCall` that the runtime inlines back into the outer graph
(about 2.7 s of a 15 s first step for the digits supernet; benchmarks/README.md). A search
rebuilds its step after prunes, so it pays that at every rebuild. (The search traces each
of its phases as one such function, `replica_function`, so that a phase whose graph did not
change is not traced again.)
"""

from __future__ import annotations

import tensorflow as tf


def _keras_reduce_per_replica():
    from keras.src.backend.tensorflow.trainer import reduce_per_replica

    return reduce_per_replica


def flat_step_function(model, step):
    """`model`'s step as Keras' `fit`/`evaluate` call it (`function(iterator) -> logs`),
    traced as one `tf.function` that takes a batch and runs `step` under the strategy.

    Args:
        model: a compiled `keras.Model` (its strategy; Keras' own function as the fallback
            for an iterator that is not a tf.data one).
        step: the per-replica step, `model.train_step` or `model.test_step`.
    """
    step = model._autoconvert_optionals(step)
    on_replicas = _on_replicas(model, step)

    @tf.autograph.experimental.do_not_convert
    def one_step_on_iterator(iterator):
        return on_replicas(iterator.get_next())

    traced = tf.function(one_step_on_iterator, reduce_retracing=True)
    function = _on_iterators(model, step, traced)
    function.traced = traced
    return function


def replica_function(model, step):
    """`step(*args)` run on every replica of `model`'s strategy, its outputs reduced as Keras
    reduces a step's logs, traced as one `tf.function` of the (per-replica) arguments."""
    return tf.function(_on_replicas(model, step), reduce_retracing=True)


def iterator_step_function(model, step_on_batch):
    """`function(iterator) -> logs` as Keras' `fit` calls it: takes the next (per-replica)
    batch eagerly and hands it to `step_on_batch`, which calls traced functions. An
    iterator that is not a tf.data one gets Keras' own function of `model.train_step`."""
    return _on_iterators(model, model.train_step,
                         lambda iterator: step_on_batch(iterator.get_next()))


def _on_replicas(model, step):
    """`step(*args)` on every replica of `model`'s strategy, outputs reduced as Keras'."""
    strategy = model.distribute_strategy
    reduce_per_replica = _keras_reduce_per_replica()

    @tf.autograph.experimental.do_not_convert
    def on_replicas(*args):
        return reduce_per_replica(strategy.run(step, args=args), strategy, reduction="auto")

    return on_replicas


def _on_iterators(model, step, on_data_iterator):
    """`function(iterator)`: `on_data_iterator` for a tf.data (or distributed) iterator,
    Keras' own function of `step` (made on first need) for any other."""
    fallback = None

    def function(iterator):
        nonlocal fallback
        if isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
            return on_data_iterator(iterator)
        if fallback is None:
            fallback = model._make_function(step)
        return fallback(iterator)

    return function


class FlatStepFunctions:
    """A `keras.Model` mixin: train and test functions traced as one `tf.function` each
    when nothing needs Keras' inner one (no XLA, no eager run, one step per execution);
    otherwise Keras' own. Keras' `fit` and `evaluate` call them unchanged (an exhausted
    iterator's `OutOfRangeError` ends the epoch, as with Keras' function).
    """

    def _flat_steps(self) -> bool:
        return not (self.run_eagerly or self.jit_compile or self.steps_per_execution != 1)

    def make_train_function(self, force=False):
        if not self._flat_steps():
            return super().make_train_function(force=force)
        if self.train_function is not None and not force:
            return self.train_function
        self.train_function = flat_step_function(self, self.train_step)
        return self.train_function

    def make_test_function(self, force=False):
        if not self._flat_steps():
            return super().make_test_function(force=force)
        if self.test_function is not None and not force:
            return self.test_function
        self.test_function = flat_step_function(self, self.test_step)
        return self.test_function
