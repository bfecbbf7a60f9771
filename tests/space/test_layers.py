import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.space import ops
from asap_keras.space.arch_params import ArchParams
from asap_keras.space.cell import SearchCell
from asap_keras.space.mixed_op import MixedOp
from asap_keras.space.network import SearchNetwork, reduction_positions
from asap_keras.space.primitives import ASAP_OPS, DARTS_OPS


def assert_config_round_trip(layer, *call_args):
    """Every layer: get_config -> from_config gives a layer of equal config and outputs shape."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["module"] is None or "asap_keras" in serialized["registered_name"]
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config
    if call_args:
        a = layer(*call_args)
        b = clone(*call_args)
        assert tuple(a.shape) == tuple(b.shape)


@pytest.mark.parametrize("name", DARTS_OPS)
@pytest.mark.parametrize("stride, size", [(1, 8), (2, 8), (2, 7)])
def test_every_op_shape_and_config(name, stride, size):
    layer = ops.make_op(name, 4, stride)
    x = tf.random.normal((2, size, size, 4))
    y = layer(x, training=True)
    expected = size if stride == 1 else (size + 1) // 2
    assert tuple(y.shape) == (2, expected, expected, 4)
    assert layer.compute_output_shape(x.shape) == (2, expected, expected, 4)
    assert_config_round_trip(layer, x)


def test_other_layers_round_trip():
    assert_config_round_trip(ops.Stem(6, in_channels=1), tf.zeros((1, 4, 4, 1)))
    assert_config_round_trip(ops.ReLUConvBN(4, in_channels=6), tf.zeros((1, 4, 4, 6)))
    assert_config_round_trip(ArchParams(14, 7, 1.3))
    assert_config_round_trip(MixedOp(4, 1, ASAP_OPS))
    assert_config_round_trip(SearchCell(4, 6, 6, False, False, ASAP_OPS))
    assert_config_round_trip(SearchNetwork(3, 1, ASAP_OPS, channels=4, cells=3),
                             tf.zeros((2, 8, 8, 1)))


def test_batchnorm_moving_statistics_update_only_in_training():
    layer = ops.ReLUConvBN(4, in_channels=4)
    x = tf.random.normal((8, 5, 5, 4)) * 3 + 2
    before = layer.bn["mean"].numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.bn["mean"].numpy(), before)
    layer(x, training=True)
    assert not np.allclose(layer.bn["mean"].numpy(), before)


def test_bad_op_arguments_name_the_value():
    with pytest.raises(ValueError, match="Received: op='conv_9x9'"):
        ops.make_op("conv_9x9", 4, 1)
    with pytest.raises(ValueError, match="Received: stride=3"):
        ops.make_op("sep_conv_3x3", 4, 3)


def test_network_structure_and_shared_alphas():
    net = SearchNetwork(10, 3, ASAP_OPS, channels=4, cells=8)
    assert reduction_positions(8) == [2, 5]
    assert [c.reduction for c in net.cells] == [i in (2, 5) for i in range(8)]
    assert all(len(c.edges) == 14 for c in net.cells)
    assert net.arch.alphas["normal"].shape == (14, 7)
    # One alpha per cell type, whatever the number of cells.
    assert len(net.arch.alpha_variables) == 2
    y = net(tf.zeros((2, 16, 16, 3)))
    assert tuple(y.shape) == (2, 10)


def test_mixed_op_weights_match_the_relaxation():
    from asap_keras.space.relaxation import op_weights

    net = SearchNetwork(3, 1, ASAP_OPS, channels=4, cells=3, temperature=0.7)
    rng = np.random.default_rng(0)
    net.arch.alphas["normal"].assign(rng.normal(size=(14, 7)).astype("float32"))
    mask = np.ones((14, 7), np.float32)
    mask[0, :3] = 0
    net.arch.masks["normal"].assign(mask)
    net.sync_alive()
    weights = net.edge_weights("normal")
    expected = op_weights(net.arch.alphas["normal"].numpy(), 0.7, mask)
    np.testing.assert_allclose(weights[0].numpy(), expected[0, 3:], rtol=1e-5)
    np.testing.assert_allclose(weights[5].numpy(), expected[5], rtol=1e-5)


def test_single_alive_op_output_is_that_op():
    mixed = MixedOp(4, 1, ASAP_OPS)
    mixed.alive = (3,)
    x = tf.random.normal((2, 6, 6, 4))
    np.testing.assert_allclose(mixed(x, None).numpy(), mixed.ops[3](x).numpy(), rtol=1e-6)


def test_only_none_alive_gives_zeros():
    mixed = MixedOp(4, 2, DARTS_OPS)
    mixed.alive = (0,)
    y = mixed(tf.ones((1, 6, 6, 4)), None)
    assert tuple(y.shape) == (1, 3, 3, 4) and not np.any(y.numpy())


def test_mixed_op_is_the_weighted_sum_of_its_alive_ops():
    # Eq. 2 by hand: sum_k w_k * o_k(x) over the alive ops, each op called alone.
    mixed = MixedOp(4, 1, ASAP_OPS)
    mixed.alive = (0, 3, 5)
    x = tf.random.normal((2, 6, 6, 4), seed=1)
    w = tf.constant([0.2, 0.5, 0.3])
    expected = sum(float(w[k]) * mixed.ops[i](x).numpy() for k, i in enumerate(mixed.alive))
    np.testing.assert_allclose(mixed(x, w).numpy(), expected, rtol=1e-5, atol=1e-6)
    # With `none` alive it adds nothing, though its weight still counts in the softmax.
    darts = MixedOp(4, 1, DARTS_OPS)
    darts.alive = (0, 4)
    np.testing.assert_allclose(darts(x, tf.constant([0.6, 0.4])).numpy(),
                               0.4 * darts.ops[4](x).numpy(), rtol=1e-5, atol=1e-6)


def test_mixed_op_gradients_are_those_of_the_weighted_sum():
    # The sum is computed op by op (a product and a sum each): its gradients are Eq. 2's,
    # d/dw_k = <upstream, o_k(x)> and d/dx = sum_k w_k do_k/dx, with `none` (weight 0.1
    # here) getting a zero gradient and a lone computed op scaled by its weight.
    x = tf.random.normal((2, 6, 6, 4), seed=2)
    upstream = tf.random.normal((2, 6, 6, 4), seed=3)
    for op_names, alive, w in [(ASAP_OPS, (0, 3, 5, 6), [0.1, 0.2, 0.3, 0.4]),
                               (DARTS_OPS, (0, 2, 7), [0.1, 0.3, 0.6]),
                               (DARTS_OPS, (0, 7), [0.1, 0.9])]:
        mixed = MixedOp(4, 1, op_names)
        mixed.alive = alive
        w = tf.constant(w)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, w])
            loss = tf.reduce_sum(mixed(x, w) * upstream)
            outputs = [mixed.ops[i](x) for i in alive]
            by_hand = tf.reduce_sum(sum(w[k] * y for k, y in enumerate(outputs)) * upstream)
        expected_w = [0.0 if op_names[i] == "none" else float(tf.reduce_sum(upstream * y))
                      for i, y in zip(alive, outputs)]
        np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(loss, w)).numpy(),
                                   expected_w, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(tape.gradient(loss, x).numpy(),
                                   tape.gradient(by_hand, x).numpy(), rtol=1e-4, atol=1e-5)


def test_an_op_masked_since_the_last_rebuild_weighs_zero_at_once():
    from asap_keras.space.relaxation import op_weights

    net = SearchNetwork(3, 1, ASAP_OPS, channels=4, cells=3, temperature=0.5)
    alpha = np.random.default_rng(1).normal(size=(14, 7)).astype("float32")
    net.arch.alphas["normal"].assign(alpha)
    mask = np.ones((14, 7), np.float32)
    mask[2, [1, 4]] = 0.0  # what the step's prune does: the mask only, no rebuild
    net.arch.masks["normal"].assign(mask)
    assert net.traced_op_count() == 3 * 14 * 7  # the structure still computes every op
    weights = net.edge_weights("normal")[2].numpy()
    assert weights[1] == 0.0 and weights[4] == 0.0
    # The rest renormalise over the alive ops (Eq. 3 with the pruned ops removed).
    np.testing.assert_allclose(weights, op_weights(alpha, 0.5, mask)[2], rtol=1e-5)


def test_an_edge_without_alive_ops_contributes_zeros():
    for stride in (1, 2):
        mixed = MixedOp(4, stride, ASAP_OPS)
        mixed.alive = ()
        y = mixed(tf.ones((2, 6, 6, 4)), None)
        assert tuple(y.shape) == (2, 6 // stride, 6 // stride, 4) and not np.any(y.numpy())


def test_the_relaxation_and_alpha_start_round_trip_and_are_used():
    arch = ArchParams(14, 7, relaxation="identity", alpha_mean=1 / 7)
    assert_config_round_trip(arch)
    np.testing.assert_allclose(arch.alphas["reduce"].numpy(), 1 / 7)
    net = SearchNetwork(3, 1, ASAP_OPS, channels=4, cells=2, relaxation="sigmoid")
    assert_config_round_trip(net, tf.zeros((2, 8, 8, 1)))
    clone = SearchNetwork.from_config(net.get_config())
    assert clone.arch.relaxation == "sigmoid"
    with pytest.raises(ValueError, match="relaxation='tanh'"):
        ArchParams(14, 7, relaxation="tanh")


def test_edges_share_one_relu_of_their_input_and_compute_the_same():
    """Every edge's convolutions start with a ReLU of the edge's input: a traced cell takes
    it once per input tensor. Values and gradients equal those of one ReLU per op."""
    keras.utils.set_random_seed(0)
    cell = SearchCell(4, 4, 4, False, False, ("sep_conv_3x3", "dil_conv_3x3", "max_pool_3x3"))
    weights = [tf.constant([0.5, 0.3, 0.2])] * len(cell.edges)
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32"))

    def step(s0, s1):
        with tf.GradientTape() as tape:
            tape.watch([s0, s1])
            y = cell(s0, s1, weights, training=False)
            probe = tf.reshape(tf.sin(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y))
            loss = tf.reduce_sum(y * probe)
        return [y] + tape.gradient(loss, [s0, s1])

    def traced(relu):
        original = ops.graph_cache.relu
        ops.graph_cache.relu = relu
        try:
            fn = tf.function(step)
            graph = fn.get_concrete_function(x, x * 0.5).graph
            return fn(x, x * 0.5), graph
        finally:
            ops.graph_cache.relu = original

    (shared, shared_graph), (plain, plain_graph) = traced(ops.graph_cache.relu), traced(
        tf.nn.relu)
    for a, b in zip(shared, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)

    def relus(graph):
        return [op for op in graph.get_operations() if op.type == "Relu"]

    distinct_inputs = {op.inputs[0].name for op in relus(plain_graph)}
    # 2 preprocessing + (2 per sep_conv + 1 per dil_conv) per edge, in the plain cell
    assert len(relus(plain_graph)) == 2 + 3 * len(cell.edges)
    # shared: the 2 cell inputs, the 5 node inputs of the edges, and the sep_convs' inner one
    assert len(relus(shared_graph)) == len(distinct_inputs) == 2 + 5 + len(cell.edges)
