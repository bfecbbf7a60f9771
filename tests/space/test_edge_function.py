"""An edge's weighted sum as one traced function per edge structure (`edge_function`).

The reference is each candidate op layer called alone (`OpLayer.call`, computed in the
caller's graph) and summed by hand: the shared function must compute, differentiate and
update BatchNorm statistics exactly as that does, in every BatchNorm mode.
"""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

from asap_keras.space import batch_norm, edge_function
from asap_keras.space.cell import SearchCell
from asap_keras.space.mixed_op import MixedOp
from asap_keras.space.primitives import ASAP_OPS, DARTS_OPS


def _statistics(mixed):
    return [v for op in mixed.ops for v in op.non_trainable_weights]


def _run(mixed, x, w, training, frozen, by_hand):
    """Output, gradients towards x, w and every kernel, and the moving statistics after."""
    kernels = [v for i in mixed.alive for v in mixed.ops[i].trainable_weights]
    upstream = tf.reshape(tf.sin(tf.range(tf.size(x), dtype=tf.float32)), x.shape)

    def step(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            scope = batch_norm.moving_statistics_frozen() if frozen else contextlib.nullcontext()
            with scope:
                if by_hand:
                    y = sum(w[k] * mixed.ops[i](x, training=training)
                            for k, i in enumerate(mixed.alive)
                            if mixed.op_names[i] != "none")
                else:
                    y = mixed(x, w, training=training)
            loss = tf.reduce_sum(y * upstream[:, :y.shape[1], :y.shape[2], :])
        return [y] + tape.gradient(loss, [x, w] + kernels)

    outputs = tf.function(step)(x, w)
    return [t.numpy() for t in outputs], [v.numpy() for v in _statistics(mixed)]


@pytest.mark.parametrize("training, frozen", [(True, False), (True, True), (False, False)],
                         ids=["train", "frozen", "infer"])
@pytest.mark.parametrize("stride, op_names, alive", [
    (1, ASAP_OPS, (0, 1, 2, 3, 4, 5, 6)),
    (2, ASAP_OPS, (1, 2, 5)),  # stride 2: the skip is a FactorizedReduce
    (1, DARTS_OPS, (0, 4, 7)),  # `none` adds nothing
])
def test_the_shared_function_is_the_ops_called_alone(training, frozen, stride, op_names, alive):
    mixed = MixedOp(4, stride, op_names)
    mixed.alive = alive
    rng = np.random.default_rng(0)
    for v in _statistics(mixed):  # moving statistics away from their start
        v.assign(rng.uniform(0.5, 1.5, size=v.shape).astype("float32"))
    start = [v.numpy() for v in _statistics(mixed)]
    x = tf.constant(rng.normal(size=(3, 6, 6, 4)).astype("float32"))
    w = tf.constant(rng.dirichlet(np.ones(len(alive))).astype("float32"))

    shared, shared_stats = _run(mixed, x, w, training, frozen, by_hand=False)
    for v, value in zip(_statistics(mixed), start):
        v.assign(value)
    alone, alone_stats = _run(mixed, x, w, training, frozen, by_hand=True)

    for a, b in zip(shared, alone):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(shared_stats, alone_stats):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = any(not np.array_equal(a, b) for a, b in zip(shared_stats, start))
    assert moved == (training and not frozen)


def _called_functions(graph):
    """Names of the functions the graph calls, forward ones and gradient ones apart."""
    names = [op.get_attr("f").name for op in graph.get_operations()
             if op.type in ("PartitionedCall", "StatefulPartitionedCall")]
    backward = [n for n in names if "backward" in n]
    return [n for n in names if "backward" not in n], backward


def _traced_step(cell, s0, s1, weights):
    def step(s0, s1):
        with tf.GradientTape() as tape:
            tape.watch([s0, s1])
            loss = tf.reduce_sum(cell(s0, s1, weights, training=True))
        return tape.gradient(loss, [s0, s1] + cell.trainable_weights)

    return tf.function(step).get_concrete_function(s0, s1).graph


def _traces():
    with edge_function._lock:
        return sum(fn.experimental_get_tracing_count()
                   for fn in edge_function._functions.values())


def test_edges_of_one_structure_share_one_traced_function():
    ops = ("max_pool_3x3", "skip_connect", "sep_conv_3x3")
    x = tf.random.normal((2, 8, 8, 6))
    for reduction, structures in [(False, 1), (True, 2)]:
        cell = SearchCell(6, 6, 6, reduction, False, ops)
        weights = [tf.constant([0.2, 0.3, 0.5])] * len(cell.edges)
        forward, backward = _called_functions(_traced_step(cell, x, x, weights))
        # One call per edge; a normal cell's 14 edges are alike, a reduction cell's edges
        # from its inputs stride 2 (the skip a FactorizedReduce) and the others do not.
        assert len(forward) == len(backward) == len(cell.edges)
        assert len(set(forward)) == len(set(backward)) == structures


def test_a_rebuild_traces_only_the_edge_structures_it_has_not_seen():
    # Shapes no other test uses, so every trace counted here is this test's.
    ops = ("avg_pool_3x3", "dil_conv_3x3", "sep_conv_5x5")
    cell = SearchCell(10, 10, 10, False, False, ops)
    x = tf.random.normal((2, 5, 5, 10))
    weights = [tf.constant([0.2, 0.3, 0.5])] * len(cell.edges)
    before = _traces()
    forward, _ = _called_functions(_traced_step(cell, x, x, weights))
    assert _traces() - before == 1  # 14 edges, one structure
    cell.edges[3].alive = (0, 2)  # a prune on one edge
    weights[3] = tf.constant([0.4, 0.6])
    middle = _traces()
    rebuilt, _ = _called_functions(_traced_step(cell, x, x, weights))
    assert _traces() - middle == 1  # only the new structure is traced
    assert rebuilt[3] != forward[3] and rebuilt[:3] + rebuilt[4:] == forward[:3] + forward[4:]
    # Tracing the same structure again traces nothing.
    _traced_step(cell, x, x, weights)
    assert _traces() - middle == 1


def test_a_lone_op_needs_no_weight_and_a_sum_needs_one_per_op():
    spec = MixedOp(4, 1, ASAP_OPS).ops[0].spec()
    x = tf.zeros((1, 4, 4, 4))
    with pytest.raises(ValueError, match="weights=None needs a single op"):
        edge_function.compute((spec, spec), batch_norm.INFER, x, None, None, [])
