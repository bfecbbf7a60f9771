"""The evaluation network: structure per genotype, drop-path, auxiliary tower, config."""

import numpy as np
import pytest
import tensorflow as tf

from asap_keras.child.genotypes import BUILT_IN, resolve
from asap_keras.child.network import (
    AuxiliaryHead,
    EvalCell,
    EvalNetwork,
    count_parameters,
    drop_path,
)
from asap_keras.errors import GenotypeError
from asap_keras.space.topology import pair_edges
from tests.space.test_layers import assert_config_round_trip

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 1)).astype("float32")


def tiny(genotype="darts_v2", **kw):
    args = {"num_classes": 5, "image_shape": (8, 8, 1), "channels": 4, "layers": 6}
    args.update(kw)
    return EvalNetwork(BUILT_IN[genotype] if isinstance(genotype, str) else genotype, **args)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_genotypes_build_the_expected_network(name):
    model = tiny(name)
    assert len(model.cells) == 6
    assert [i for i, c in enumerate(model.cells) if c.reduction] == [2, 4]
    assert model.reduction_at == (2, 4) and model.aux_index == 4
    assert [c.channels for c in model.cells] == [4, 4, 8, 8, 16, 16]
    assert all(c.reduction_prev == (i - 1 in (2, 4)) for i, c in enumerate(model.cells))
    assert model(IMAGES).shape == (4, 5)
    assert count_parameters(model) > 0


def test_paper_sized_darts_v2_has_its_published_parameter_count():
    model = EvalNetwork(BUILT_IN["darts_v2"], 10, (32, 32, 3), channels=36, layers=20)
    assert count_parameters(model) / 1e6 == pytest.approx(3.3, abs=0.1)  # DARTS: 3.3 M


def test_drop_path_is_off_at_inference_and_random_in_training():
    model = tiny(drop_path=0.5)
    model.drop_path_rate.assign(0.5)
    a = model(IMAGES, training=False)
    b = model(IMAGES, training=False)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = tf.ones((64, 2, 2, 3))
    dropped = drop_path(x, tf.constant(0.5), training=True).numpy()
    per_example = dropped.reshape(64, -1)
    assert set(np.unique(per_example)) <= {0.0, 2.0}
    assert (per_example == 0).all(axis=1).any() and (per_example == 2).all(axis=1).any()
    np.testing.assert_array_equal(drop_path(x, tf.constant(0.5), training=False), x)


def test_auxiliary_tower_only_runs_in_training():
    model = tiny()
    _, aux = model.forward(IMAGES, training=False)
    assert aux is None
    logits, aux = model.forward(IMAGES, training=True)
    assert aux.shape == logits.shape == (4, 5)
    assert tiny(auxiliary=False).forward(IMAGES, training=True)[1] is None
    with_aux, without = tiny(), tiny(auxiliary=False)
    assert count_parameters(with_aux) == count_parameters(without)


def test_grayscale_and_non_square_sizes_and_imagenet_stem():
    model = tiny("asap", image_shape=(12, 10, 1))
    assert model(tf.zeros((2, 12, 10, 1))).shape == (2, 5)
    imagenet = tiny("asap", image_shape=(40, 40, 3), variant="imagenet")
    assert [s.stride for s in imagenet.stems] == [2, 2, 2]
    assert imagenet(tf.zeros((1, 40, 40, 3))).shape == (1, 5)


def test_layers_round_trip_their_config():
    model = tiny()
    cell = model.cells[2]
    assert isinstance(cell, EvalCell)
    assert_config_round_trip(cell)
    assert_config_round_trip(model.aux_head)
    assert isinstance(model.aux_head, AuxiliaryHead)
    clone = EvalNetwork.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(IMAGES), model(IMAGES), rtol=1e-5, atol=1e-5)


def test_training_lowers_the_loss():
    import keras

    model = tiny(layers=3)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True))
    labels = np.arange(4) % 5
    history = model.fit(IMAGES, labels, epochs=8, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy"}


def _node_changes(pairs, s0, s1, perturbed_s0):
    """Per node of `concat = [2, 3, 4, 5]`: did its output move when only s0 changed?"""
    tf.random.set_seed(0)
    cell = EvalCell(pair_edges(pairs), [2, 3, 4, 5], channels=4, prev_prev_channels=6,
                    prev_channels=6)
    before = cell(s0, s1, tf.constant(0.0), training=False).numpy()
    after = cell(perturbed_s0, s1, tf.constant(0.0), training=False).numpy()
    assert before.shape == after.shape == (2, 5, 5, 16)
    return [not np.array_equal(before[..., 4 * i:4 * i + 4], after[..., 4 * i:4 * i + 4])
            for i in range(4)]


# Node n (2..5) sums the two ops at pairs[2(n-2)] and pairs[2(n-2)+1]; each pair is
# (op, source), sources 0, 1 the cell inputs and 2.. the earlier nodes.
NEVER_READS_0 = [("sep_conv_3x3", 1), ("max_pool_3x3", 1),   # node 2: input 1 only
                 ("skip_connect", 1), ("sep_conv_3x3", 2),   # node 3: input 1, node 2
                 ("dil_conv_3x3", 2), ("skip_connect", 3),   # node 4: nodes 2, 3
                 ("avg_pool_3x3", 1), ("sep_conv_5x5", 4)]   # node 5: input 1, node 4
NODE_5_READS_0 = NEVER_READS_0[:6] + [("avg_pool_3x3", 0), ("sep_conv_5x5", 4)]
# Only node 2 reads input 0; node 4 reads node 2, nodes 3 and 5 read neither.
NODE_4_READS_NODE_2 = [("sep_conv_3x3", 0), ("skip_connect", 1),
                       ("sep_conv_3x3", 1), ("max_pool_3x3", 1),
                       ("skip_connect", 2), ("sep_conv_3x3", 1),
                       ("sep_conv_3x3", 1), ("dil_conv_3x3", 3)]
NODE_4_READS_NODE_3 = NODE_4_READS_NODE_2[:4] + [("skip_connect", 3), ("sep_conv_3x3", 1)] \
    + NODE_4_READS_NODE_2[6:]


@pytest.mark.parametrize("pairs, moved", [
    (NEVER_READS_0, [False, False, False, False]),
    (NODE_5_READS_0, [False, False, False, True]),
    (NODE_4_READS_NODE_2, [True, False, True, False]),
    (NODE_4_READS_NODE_3, [True, False, False, False]),
])
def test_eval_cell_nodes_read_the_genotypes_sources(pairs, moved):
    rng = np.random.default_rng(0)
    s0, s1 = (tf.constant(rng.normal(size=(2, 5, 5, 6)), tf.float32) for _ in range(2))
    perturbed = s0 + tf.constant(rng.normal(size=(2, 5, 5, 6)), tf.float32)
    assert _node_changes(pairs, s0, s1, perturbed) == moved


@pytest.mark.parametrize("bad, message", [
    ({"normal": [["sep_conv_3x3", 0]] * 3}, "2 .op, source. pairs per node"),
    ({"normal": [["conv_9x9", 0], ["sep_conv_3x3", 1]] * 4}, "unknown op"),
    ({"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 7]] + [["skip_connect", 0]] * 6},
     "sources 0..1"),
])
def test_malformed_genotypes_are_refused(bad, message):
    raw = {**BUILT_IN["asap"].to_dict(), **bad}
    with pytest.raises(GenotypeError, match=message):
        tiny(raw)


def test_resolve_names_built_ins_and_files(tmp_path):
    assert resolve("asap") == BUILT_IN["asap"]
    path = tmp_path / "genotype.json"
    path.write_text(BUILT_IN["darts_v1"].to_json())
    assert resolve(str(path)) == BUILT_IN["darts_v1"]
    with pytest.raises(GenotypeError, match="genotype='nasnet'"):
        resolve("nasnet")
    path.write_text('{"normal": []}')
    with pytest.raises(GenotypeError, match="genotype.json"):
        resolve(str(path))
