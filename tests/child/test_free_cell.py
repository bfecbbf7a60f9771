"""Free cells in the evaluation network: the sums they compute, what they read, their cost."""

import numpy as np
import pytest
import tensorflow as tf

from asap_keras.child.cost import network_cost
from asap_keras.child.network import EvalCell, EvalNetwork, count_parameters
from asap_keras.errors import GenotypeError
from asap_keras.space.genotype import Genotype
from tests.space.test_layers import assert_config_round_trip

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 1)).astype("float32")
# Node 2: two ops on the edge from input 1; node 3: one input (node 2). Input 0 is unread.
CELL_EDGES = [("sep_conv_3x3", 1, 2), ("max_pool_3x3", 1, 2), ("skip_connect", 2, 3)]
# Normal: a two-op edge, a single-input node, input 0 unread, node 5 dead (absent), 3 nodes
# out. Reduce: 2 nodes out, so a reduction cell is narrower than a normal one.
NORMAL = [("sep_conv_3x3", 1, 2), ("dil_conv_3x3", 1, 2), ("skip_connect", 2, 3),
          ("avg_pool_3x3", 1, 4), ("sep_conv_5x5", 3, 4)]
FREE = Genotype.free(
    NORMAL, [("skip_connect", 0, 2), ("max_pool_3x3", 0, 2), ("sep_conv_3x3", 2, 3),
             ("avg_pool_3x3", 1, 3)], nodes=4)
# The reduction cell leaves input 1 unread: in 3 cells (reductions at 1 and 2) cell 2 reads
# cell 0 only, so nothing reads cell 1.
DEAD_CELL_1 = Genotype.free(
    NORMAL, [("skip_connect", 0, 2), ("max_pool_3x3", 0, 2), ("sep_conv_3x3", 2, 3)], nodes=4)


def inputs(seed, shape=(2, 5, 5, 6)):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(size=shape), tf.float32)


def free_cell(**kw):
    tf.random.set_seed(0)
    args = {"channels": 4, "prev_prev_channels": 6, "prev_channels": 6,
            "skip_unused_inputs": True}
    args.update(kw)
    return EvalCell(CELL_EDGES, [2, 3], **args)


def test_a_node_sums_every_op_of_its_edges():
    cell = free_cell()
    s0, s1 = inputs(0), inputs(1)
    out = cell(s0, s1, tf.constant(0.0), training=False).numpy()
    # By hand from the cell's own layers: node 2 = sep(pre1(s1)) + max(pre1(s1)), node 3 =
    # node 2 (an identity skip), output [node 2, node 3].
    h1 = cell.pre1(s1, training=False)
    node2 = cell.ops[0](h1, training=False) + cell.ops[1](h1, training=False)
    np.testing.assert_allclose(out[..., :4], node2.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[..., 4:], node2.numpy(), rtol=1e-5, atol=1e-5)
    assert [type(op).__name__ for op in cell.ops] == ["SepConv", "Pool", "Identity"]


def test_the_cell_reads_exactly_its_sources():
    cell = free_cell()
    s0, s1 = inputs(0), inputs(1)
    before = cell(s0, s1, tf.constant(0.0), training=False).numpy()
    assert cell.pre0 is None and cell.pre1 is not None  # no layer for the unread input
    other_s0 = cell(inputs(2), s1, tf.constant(0.0), training=False).numpy()
    other_s1 = cell(s0, inputs(3), tf.constant(0.0), training=False).numpy()
    np.testing.assert_array_equal(other_s0, before)
    assert not np.allclose(other_s1, before)
    assert before.shape == (2, 5, 5, 8) and cell.out_channels == 8
    # A reduction cell strides the edges from the inputs only.
    reduced = free_cell(reduction=True)(s0, s1, tf.constant(0.0), training=False)
    assert tuple(reduced.shape) == (2, 3, 3, 8)
    assert_config_round_trip(cell)


def test_a_darts_style_cell_keeps_the_preprocessing_of_an_unread_input():
    cell = free_cell(skip_unused_inputs=False)
    assert cell.pre0 is not None


@pytest.mark.parametrize("edges, concat", [
    ([("sep_conv_3x3", 3, 4)], [4]),  # reads node 3, which nothing enters
    ([("sep_conv_3x3", 0, 2)], [2, 3]),  # outputs node 3, which nothing enters
    ([("sep_conv_3x3", 2, 2)], [2]),  # a node reading itself
])
def test_a_cell_reading_a_node_without_input_is_refused(edges, concat):
    with pytest.raises(GenotypeError, match="Received: edges="):
        EvalCell(edges, concat, 4, 6, 6)


def free_network(genotype=FREE, **kw):
    args = {"num_classes": 5, "image_shape": (8, 8, 1), "channels": 4, "layers": 3,
            "auxiliary": False}
    args.update(kw)
    return EvalNetwork(genotype, **args)


def test_cells_with_different_concats_chain_their_channels():
    model = free_network()
    # Layers 3: reductions at cells 1 and 2; normal concat 3 nodes, reduce concat 2 nodes.
    assert [c.reduction for c in model.cells] == [False, True, True]
    assert [c.channels for c in model.cells] == [4, 8, 16]
    assert [c.out_channels for c in model.cells] == [12, 16, 32]
    assert [(c.prev_prev_channels, c.prev_channels) for c in model.cells] == [
        (12, 12), (12, 12), (12, 16)]
    assert model(IMAGES).shape == (4, 5)
    # An unread input builds nothing: normal cells read only input 1.
    assert [(c.pre0 is None, c.pre1 is None) for c in model.cells] == [
        (True, False), (False, False), (False, False)]


def test_a_cell_that_nothing_reads_is_not_built():
    model = free_network(DEAD_CELL_1)
    assert [c is None for c in model.cells] == [False, True, False]
    assert model.cells[2].pre1 is None and model.cells[2].prev_prev_channels == 12
    assert model(IMAGES).shape == (4, 5)
    # Layers 4: cell 3 (normal) reads cell 2; cell 2 (reduce) reads cell 0; the auxiliary
    # tower reads cell 2 (2 * 4 // 3), so cell 1 is dead with or without it.
    assert [c is None for c in free_network(DEAD_CELL_1, layers=4).cells] == [
        False, True, False, False]


@pytest.mark.parametrize("genotype", [FREE, DEAD_CELL_1])
def test_every_weight_of_a_free_network_trains(genotype):
    model = free_network(genotype)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model.forward(IMAGES, training=True)[0] ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    untrained = [v.path for v, grad in zip(model.trainable_variables, grads)
                 if grad is None or not np.any(grad.numpy())]
    assert untrained == []


def test_a_free_network_round_trips_its_config():
    model = free_network()
    config = model.get_config()
    assert config["genotype"] == FREE.to_dict()
    clone = EvalNetwork.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(IMAGES), model(IMAGES), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("genotype", [FREE, DEAD_CELL_1])
def test_cost_equals_the_keras_parameter_count_of_a_free_network(genotype):
    for auxiliary in (False, True):
        model = free_network(genotype, auxiliary=auxiliary)
        cost = network_cost(genotype, 5, (8, 8, 1), channels=4, layers=3, auxiliary=auxiliary)
        assert cost["parameters"] == count_parameters(model)
