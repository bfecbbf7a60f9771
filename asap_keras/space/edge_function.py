"""An edge's weighted sum (Eq. 2) as one traced function per edge structure.

A supernet step traced op by op builds every candidate op's graph nodes, and their gradients,
once per edge: the digits supernet's weight phase held 13.5k nodes, ~320 us of Python each.
Yet most edges are alike: the same alive ops with the same strides and channels, differing
only in their variables. So an edge's computation is a `tf.function` of the edge input, its
ReLU, the op weights and the variables' values, traced once per edge structure (the alive
ops' `spec()`s and the BatchNorm mode; TensorFlow adds the input shapes and dtypes) and
called from every edge of that structure. The step's graph then holds a call per edge, and
TensorFlow builds that function's gradient once for all of them. The functions are kept
across traces, so a rebuild after a prune traces only the edge structures it has not seen.

The function reads no variable and assigns none: its caller reads the values (inside its
Keras autocast and stateless scopes, and in replica context under a distribution strategy)
and assigns the BatchNorm updates it returns. At run time TensorFlow inlines the calls: the
step computes exactly what the op-by-op graph computed.
"""

from __future__ import annotations

import collections
import threading

import tensorflow as tf

from asap_keras.space import batch_norm, op_kernels

# Edge structures kept (least recently used dropped first). A search meets a few dozen;
# a dropped one is traced again when next needed.
CACHE_SIZE = 512

_functions: collections.OrderedDict = collections.OrderedDict()
_lock = threading.Lock()


def weighted_sum(specs, bn_mode, x, relu_x, weights, values):
    """`sum_k weights[k] * op_k(x)` over the ops of `specs`, and their BatchNorm updates.

    Args:
        specs: the alive ops' `OpLayer.spec()`s, in the edge's order.
        bn_mode: `batch_norm.TRAIN`, `FROZEN` or `INFER`.
        x: the edge input; `relu_x` its ReLU (None if no op reads it).
        weights: one weight per op, or None for a lone op taken as is.
        values: every op's `state_variables(bn_mode)` values, op after op.

    Returns:
        `(output, updates)`: the updates in the ops' `statistics(bn_mode)` order.
    """
    return _function(tuple(specs), bn_mode)(x, relu_x, weights, list(values))


def compute(specs, bn_mode, x, relu_x, weights, values):
    """`weighted_sum`'s body, computed in the caller's graph (the reference it is tested
    against, and the function traced)."""
    take = iter(values)
    updates = []
    if weights is None:
        if len(specs) != 1:
            raise ValueError(f"weights=None needs a single op; received specs={specs!r}")
        return op_kernels.run(specs[0], x, relu_x, take, bn_mode, updates), updates
    out = None
    for spec, weight in zip(specs, tf.unstack(weights, num=len(specs))):
        if spec[0] == "zero":  # adds zeros: skipped (its weight still normalises Phi)
            continue
        y = op_kernels.run(spec, x, relu_x, take, bn_mode, updates)
        # Phi is float32 (the softmax of float32 alphas); the ops compute in the policy's
        # compute dtype (float16/bfloat16 under mixed precision). The weight on the right:
        # a constant scalar there (the weight step) gets TensorFlow's one-op Mul gradient.
        term = y * tf.cast(weight, y.dtype)
        out = term if out is None else out + term
    if out is None:  # only `none` ops alive
        out = op_kernels.run(specs[0], x, relu_x, take, bn_mode, updates)
    return out, updates


def _function(specs, bn_mode):
    key = (specs, bn_mode)
    with _lock:
        fn = _functions.get(key)
        if fn is None:
            def edge_sum(x, relu_x, weights, values):
                return compute(specs, bn_mode, x, relu_x, weights, values)

            fn = tf.function(edge_sum, autograph=False,
                             experimental_attributes=_attributes(bn_mode))
            _functions[key] = fn
            if len(_functions) > CACHE_SIZE:
                _functions.popitem(last=False)
        else:
            _functions.move_to_end(key)
        return fn


def _attributes(bn_mode):
    """The function's call is kept as a call at run time, not inlined, except in `FROZEN`
    mode (the architecture step).

    Inlining copies the body (and its gradient's) into the step's graph at every call site
    when the step first runs; a kept call instantiates each function once. On the digits
    supernet the weight step's first call took 1.5 s kept against 2.8 s inlined (1.8 s
    op by op), with equal steady steps. But a kept call's gradient function computes the
    gradients towards every input, and the architecture step needs only those towards the
    op weights: inlined, the rest is pruned away (kept, its steady step took 0.25 s
    against 0.12 s).
    """
    return None if bn_mode == batch_norm.FROZEN else {"_noinline": True}


def is_edge_function(name: str) -> bool:
    """Whether `name`, a function in a traced graph's library, is an edge's (its forward
    or its gradient)."""
    return "edge_sum" in name


def cached_structures() -> int:
    """How many edge structures have a function now."""
    with _lock:
        return len(_functions)
