"""The traced step: one tf.function per step (no Keras inner function), the weight step's
gradient stops at the op weights, and one replica sums no gradients."""

import keras
import numpy as np
import tensorflow as tf

from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.network import SearchNetwork
from asap_keras.step_function import FlatStepFunctions
from tests.search.test_model import batch, make_model

CALLS = ("PartitionedCall", "StatefulPartitionedCall")


def _fit_steps(model, steps=3):
    data = tf.data.Dataset.from_tensors((batch(0), batch(1))).repeat()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)


def _graph_of(model):
    (concrete,) = model.train_function.traced._list_all_concrete_functions()
    return concrete.graph


def test_the_train_step_is_traced_as_one_function():
    model = make_model(cells=2)
    _fit_steps(model, 1)
    types = {op.type for op in _graph_of(model).get_operations()}
    assert not types & set(CALLS), "the step is called through a nested function"
    assert {"Conv2D", "ResourceApplyKerasMomentum", "FusedBatchNorm"} <= types
    model.evaluate(tf.data.Dataset.from_tensors(batch(2)), verbose=0)
    (concrete,) = model.test_function.traced._list_all_concrete_functions()
    assert not {op.type for op in concrete.graph.get_operations()} & set(CALLS)


def test_one_function_trains_as_keras_nested_functions_do(monkeypatch):
    flat = make_model(cells=2)
    _fit_steps(flat)
    monkeypatch.setattr(FlatStepFunctions, "_flat_steps", lambda self: False)
    nested = make_model(cells=2)
    _fit_steps(nested)
    assert not hasattr(nested.train_function, "traced")  # Keras' own function ran
    for a, b in zip(flat.network.weights, nested.network.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_xla_keeps_keras_functions():
    keras.utils.set_random_seed(0)
    model = SearchModel(SearchNetwork(3, 1, ("max_pool_3x3", "skip_connect"), channels=4,
                                      cells=2))
    model.compile(weight_optimizer=FusedMomentumSGD(0.05, momentum=0.9),
                  arch_optimizer=keras.optimizers.Adam(0.1))
    # Set past Keras' check: under op determinism (which other tests of the session turn
    # on, globally) Keras refuses XLA with a warning. Nothing here runs the functions.
    model._jit_compile = True
    model.make_train_function()
    model.make_test_function()
    assert not hasattr(model.train_function, "traced")
    assert not hasattr(model.test_function, "traced")


def test_the_weight_step_builds_no_gradient_towards_alpha():
    model = make_model(cells=2)
    alphas = model.network.arch.alpha_variables
    x, y = batch()
    for fixed, expect_gradient in ((False, True), (True, False)):
        with tf.GradientTape() as tape:
            logits = model(x, training=True, arch_fixed=fixed)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
                y, logits, from_logits=True))
        grads = tape.gradient(loss, alphas)
        present = [g for g in grads if g is not None]
        assert bool(present) == expect_gradient
        assert all(np.abs(g.numpy()).sum() > 0 for g in present)


def test_one_replica_sums_no_gradients():
    """Keras' all-reduce of the gradients adds an Identity per variable; with one replica
    the weight optimizer skips it (the step keeps only a handful of Identity nodes)."""
    model = make_model(cells=2)
    _fit_steps(model, 1)
    identities = sum(op.type == "Identity" for op in _graph_of(model).get_operations())
    assert identities < len(model.network.weight_variables()) // 2
