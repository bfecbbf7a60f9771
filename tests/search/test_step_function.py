"""The traced step: one tf.function per phase (no Keras inner function), a phase traced in
grace serves on past it, the weight step's gradient stops at the op weights, and one
replica sums no gradients."""

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


def _graphs_of(model):
    """The graphs of the train function's phases: one concrete function each."""
    graphs = []
    for phase in model.train_function.phases:
        (concrete,) = phase._list_all_concrete_functions()
        graphs.append(concrete.graph)
    return graphs


def _op_types(graph):
    return {op.type for op in graph.get_operations()}


def test_each_phase_is_traced_as_one_function():
    model = make_model(cells=2)
    _fit_steps(model, 1)
    weight, arch = _graphs_of(model)  # ASAP: the weight phase first
    for graph in (weight, arch):
        assert not _op_types(graph) & set(CALLS), "a phase calls a nested function"
    assert {"Conv2D", "ResourceApplyKerasMomentum", "FusedBatchNorm"} <= _op_types(weight)
    assert "AssignSubVariableOp" in _op_types(arch)  # Adam's update of the alphas
    assert "ResourceApplyKerasMomentum" not in _op_types(arch)
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
    (weight, _) = _graphs_of(model)
    identities = sum(op.type == "Identity" for op in weight.get_operations())
    assert identities < len(model.network.weight_variables()) // 2


def test_the_grace_weight_phase_serves_past_grace_and_a_prune_retraces_both():
    """At grace's end only the architecture phase is traced; a new structure traces both
    (and the switch alone changes nothing the weight phase computes)."""
    model = make_model(cells=2, arch_on=False)
    _fit_steps(model, 2)
    (grace_weight,) = model.train_function.phases
    model.network.arch.arch_enabled.assign(1.0)
    assert model.sync_structure("grace_end", follow_prunes=False)
    _fit_steps(model, 2)
    weight, arch = model.train_function.phases
    assert weight is grace_weight
    assert weight.experimental_get_tracing_count() == 1
    assert arch.experimental_get_tracing_count() == 1
    masks = model.network.arch.masks["reduce"]  # a 2-cell stack has no normal cell
    masks.assign(tf.tensor_scatter_nd_update(masks, [[0, 0]], [0.0]))
    assert model.sync_structure("prune")
    _fit_steps(model, 1)
    rebuilt, rebuilt_arch = model.train_function.phases
    assert rebuilt is not weight and rebuilt_arch is not arch
    assert model.network.cells[0].edges[0].alive == (1, 2)


def test_split_phases_train_as_one_traced_step_does(monkeypatch):
    """The phases traced apart give the very numbers of the single traced train_step."""
    split = make_model(cells=2)
    _fit_steps(split)
    monkeypatch.setattr(SearchModel, "make_train_function",
                        lambda self, force=False: FlatStepFunctions.make_train_function(
                            self, force=force))
    single = make_model(cells=2)
    _fit_steps(single)
    assert not hasattr(split.train_function, "traced")
    assert hasattr(single.train_function, "traced")
    for a, b in zip(split.network.weights + split.network.arch.alpha_variables,
                    single.network.weights + single.network.arch.alpha_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
