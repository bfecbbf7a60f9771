"""The architecture gradient: first order, and DARTS' unrolled second order (Eqs. 7-8)."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras import precision
from asap_keras.replicas import num_replicas, sum_over_replicas
from asap_keras.space.batch_norm import moving_statistics_frozen


def cross_entropy(labels, logits):
    """Mean sparse softmax cross-entropy of a batch, in float32 whatever the logits' dtype."""
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
        labels, tf.cast(logits, tf.float32), from_logits=True))


def first_order(model, arch_batch, variables):
    """dL_val(w, alpha)/dalpha on an architecture batch, summed over replicas.

    The tape watches the alphas alone, so no gradient is built for ops that do not depend
    on them (the stem, the first cells' preprocessing and the ops on their inputs). The
    forward pass normalizes with batch statistics and leaves BatchNorm's moving statistics
    alone (`moving_statistics_frozen`): they follow the weight phase's batches. Under loss
    scaling the loss is scaled by the architecture optimizer's scale and the
    gradients are returned unscaled.

    Returns:
        `(loss, logits, grads)`.
    """
    x, y = arch_batch
    optimizer = model.arch_optimizer
    with tf.GradientTape(watch_accessed_variables=False) as tape, moving_statistics_frozen():
        tape.watch([v.value for v in variables])  # the tf.Variables behind Keras' ones
        logits = model(x, training=True)
        loss = cross_entropy(y, logits)
        scaled = precision.scale_loss(optimizer, loss) / num_replicas()
    grads = sum_over_replicas(tape.gradient(scaled, variables))
    return loss, logits, precision.unscale(optimizer, grads)


def unrolled(model, weight_batch, arch_batch, alphas, xi, radius=0.01):
    """DARTS' second-order architecture gradient (Liu et al., 2019, Eqs. 7-8).

    `w' = w - xi (momentum * buf + dL_train(w)/dw + wd * w)` is one virtual SGD step (buf the
    optimizer's momentum, as `buf = -accumulator / lr` in Keras' convention);
    `grad = dL_val(w', alpha)/dalpha - xi * HVP` with the finite-difference Hessian-vector
    product `HVP = [dL_train(w+)/dalpha - dL_train(w-)/dalpha] / (2 eps)`,
    `w+- = w +- eps v`, `v = dL_val(w')/dw'`, `eps = radius / ||v||`. The virtual weights are
    evaluated with `keras.StatelessScope`: no variable is assigned, BatchNorm statistics
    included. Every gradient is summed over replicas, so all replicas step alike. Under loss
    scaling each of the four losses is scaled by the architecture optimizer's scale and its
    gradients unscaled, so a non-finite one reaches that optimizer, which skips the step.

    Args:
        model: the `SearchModel` (its weight optimizer must be SGD with momentum).
        weight_batch, arch_batch: `(x, y)` of the weight and architecture halves.
        alphas: the alpha variables to differentiate.
        xi: the virtual step size (DARTS: the current weight learning rate); 0 makes
            `w' = w` and drops the HVP term: the first-order gradient.
        radius: `||w+ - w||`, 0.01 in the DARTS reference. ReLU kinks and max-pool switches
            inside that radius make the difference quotient differ from the exact
            Hessian-vector product on small networks; it is DARTS' approximation.

    Returns:
        `(loss at w', logits at w', grads)`.
    """
    weights = model.network.live_weight_variables()
    optimizer = precision.inner(model.weight_optimizer)  # its momentum buffers
    scaler = model.arch_optimizer  # whose loss scale every gradient here is taken at
    replicas = num_replicas()
    (x_w, y_w), (x_a, y_a) = weight_batch, arch_batch

    def loss_at(values, x, y):
        mapping = [] if values is None else list(zip(weights, values))
        # Assignments are discarded; BatchNorm does not even read its moving statistics.
        with keras.StatelessScope(state_mapping=mapping), moving_statistics_frozen():
            logits = model(x, training=True)
        return cross_entropy(y, logits), logits

    def scaled(loss):  # inside the tape: the scaling is part of what is differentiated
        return precision.scale_loss(scaler, loss) / replicas

    def gradients_of(tape, scaled_loss, sources):
        grads = sum_over_replicas(tape.gradient(scaled_loss, sources))
        return precision.unscale(scaler, grads)

    with tf.GradientTape() as tape:
        loss, _ = loss_at(None, x_w, y_w)
        target = scaled(loss)
    train_grads = gradients_of(tape, target, weights)
    xi = tf.cast(xi, tf.float32)
    lr = tf.cast(optimizer.learning_rate, tf.float32)
    decay = tf.constant(model.weight_decay, tf.float32)
    momentum = tf.constant(optimizer.momentum, tf.float32)
    virtual = []
    for w, g in zip(weights, train_grads):
        buf = -optimizer.momentums[optimizer._get_variable_index(w)].value / lr
        virtual.append(w.value - xi * (momentum * buf + g + decay * w.value))

    with tf.GradientTape() as tape:
        tape.watch(virtual)
        val_loss, logits = loss_at(virtual, x_a, y_a)
        target = scaled(val_loss)
    grads = gradients_of(tape, target, virtual + list(alphas))
    v, direct = grads[:len(weights)], grads[len(weights):]
    eps = radius / tf.maximum(tf.linalg.global_norm(v), 1e-12)

    def alpha_grads_at(sign):
        shifted = [w.value + sign * eps * vi for w, vi in zip(weights, v)]
        with tf.GradientTape() as tape:
            loss, _ = loss_at(shifted, x_w, y_w)
            target = scaled(loss)
        return gradients_of(tape, target, list(alphas))

    plus, minus = alpha_grads_at(1.0), alpha_grads_at(-1.0)
    hvp = [(p - m) / (2.0 * eps) for p, m in zip(plus, minus)]
    return val_loss, logits, [g - xi * h for g, h in zip(direct, hvp)]
