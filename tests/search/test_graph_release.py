"""Traced step graphs are freed once their model is gone (a search rebuilds its step often)."""

import gc
import weakref

import keras
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops

from asap_keras.replicas import custom_gradients_released
from tests.search.test_model import batch, make_model, one_step


def _custom_gradient_names():
    return {k for k in tf_ops.gradient_registry._registry if k.startswith("CustomGradient-")}


def _all_reduce_graph(release):
    """Traces an all-reduce (what every optimizer's apply does) and returns its graph."""
    graphs = []

    @tf.function
    def step(x):
        graphs.append(weakref.ref(tf.compat.v1.get_default_graph()))
        if release:
            with custom_gradients_released():
                return tf.distribute.get_replica_context().all_reduce("sum", x * 2.0)
        return tf.distribute.get_replica_context().all_reduce("sum", x * 2.0)

    step(tf.ones((3,)))
    del step
    gc.collect()
    return graphs[0]


def test_an_unreleased_all_reduce_keeps_its_graph_alive_and_a_released_one_does_not():
    before = _custom_gradient_names()
    kept = _all_reduce_graph(release=False)
    leaked = _custom_gradient_names() - before
    # The control: TensorFlow's registry holds the traced graph (the leak being guarded).
    assert leaked and kept() is not None
    for name in leaked:
        del tf_ops.gradient_registry._registry[name]
    gc.collect()
    assert kept() is None
    before = _custom_gradient_names()
    assert _all_reduce_graph(release=True)() is None
    assert _custom_gradient_names() == before


def _live_graphs():
    gc.collect()
    return sum(isinstance(o, tf_ops.Graph) for o in gc.get_objects())


def test_a_search_model_leaves_no_traced_graph_behind_after_rebuilds():
    model = make_model(cells=2)
    one_step(model, (batch(0), batch(1)))
    start = _live_graphs()
    registered = _custom_gradient_names()
    for seed in range(3):  # each rebuild traces a fresh train step
        model.sync_structure("test", force=True)
        one_step(model, (batch(seed), batch(seed + 1)))
    assert _custom_gradient_names() == registered
    del model
    keras.backend.clear_session(free_memory=True)
    assert _live_graphs() <= start
