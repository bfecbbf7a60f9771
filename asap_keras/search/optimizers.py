"""FusedMomentumSGD: Keras SGD whose per-variable update is one fused TensorFlow op."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="asap_keras")
class FusedMomentumSGD(keras.optimizers.SGD):
    """SGD with (non-Nesterov) momentum, updating each variable with one fused kernel.

    The rule is Keras SGD's (m = momentum * m - lr * g; w += m), computed by
    `ResourceApplyKerasMomentum`; the supernet has over a thousand weight variables, and
    Keras' generic update adds about ten graph nodes per variable to every trace.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        momentum: in (0, 1).
        **kwargs: other `keras.optimizers.SGD` arguments.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        if kwargs.get("nesterov"):
            raise ValueError("FusedMomentumSGD does not support Nesterov momentum. "
                             "Received: nesterov=True")
        if not 0 < momentum < 1:
            raise ValueError(f"momentum must be in (0, 1). Received: momentum={momentum}")
        super().__init__(learning_rate=learning_rate, momentum=momentum, **kwargs)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # One momentum constant per apply, not one per variable.
        self._momentum_tensor = tf.constant(self.momentum, tf.float32)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Keras sums the gradients over the replicas in sync even when there is one: a
        # custom-gradient all-reduce that traces an Identity per variable for nothing.
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync == 1:
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)

    def update_step(self, gradient, variable, learning_rate):
        m = self.momentums[self._get_variable_index(variable)]
        handle = variable.handle if hasattr(variable, "handle") else variable.value.handle
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=handle, accum=m.value.handle,
            lr=tf.cast(learning_rate, variable.dtype), grad=gradient,
            momentum=tf.cast(self._momentum_tensor, variable.dtype), use_locking=False,
            use_nesterov=False)
