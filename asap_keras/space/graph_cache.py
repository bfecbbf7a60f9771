"""Tensors created once per traced graph and reused by every op that needs them."""

from __future__ import annotations

import tensorflow as tf


def graph_cached(attr, key, make):
    """`make()`, created once per traced graph under `key` (eagerly: every call).

    The cache lives on the graph itself: its tensors point back at their graph, so a
    module-level mapping keyed by graph (even a WeakKeyDictionary) would keep every traced
    graph alive for the life of the process (1.5 GB per tiny search here).
    """
    if tf.executing_eagerly():
        return make()
    graph = tf.compat.v1.get_default_graph()
    cache = getattr(graph, attr, None)
    if cache is None:
        cache = {}
        setattr(graph, attr, cache)
    if key not in cache:
        cache[key] = make()
    return cache[key]


def relu(x):
    """`tf.nn.relu(x)`, computed once per tensor `x` in a traced graph.

    Every convolution op of an edge starts with a ReLU of the edge's input, and every edge
    leaving a node reads the same input: in a traced supernet step one ReLU (and one
    gradient) per node instead of one per op. A gradient tape that records the first
    call records the ReLU for all of them; the search never watches an activation, so no
    tape starts between a tensor and its ReLU's reuse.
    """
    return graph_cached("_asap_relu", x.ref(), lambda: tf.nn.relu(x))
