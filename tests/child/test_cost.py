"""The arithmetic cost model against the built network: Keras' parameters, TF's profiler."""

import subprocess
import sys

import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from asap_keras.child.cost import live_states, network_cost, op_cost
from asap_keras.child.genotypes import BUILT_IN
from asap_keras.child.network import EvalNetwork, count_parameters
from asap_keras.errors import ConfigError, GenotypeError
from asap_keras.space.genotype import Genotype, random_genotype
from asap_keras.space.primitives import ASAP_OPS
from asap_keras.space.topology import pair_edges
from tests.child.test_free_cell import DEAD_CELL_1, FREE

# The convolution and matmul ops of an inference graph: what the multiply-adds count.
COUNTED_OPS = ["Conv2D", "DepthwiseConv2dNative", "MatMul"]

POOLS_AND_SKIPS = Genotype(
    normal=(("sep_conv_5x5", 0), ("dil_conv_5x5", 1), ("skip_connect", 0),
            ("avg_pool_3x3", 2), ("max_pool_3x3", 1), ("sep_conv_3x3", 3),
            ("dil_conv_3x3", 4), ("skip_connect", 2)),
    normal_concat=(2, 3, 4, 5),
    # Strided skips (FactorizedReduce) and pools from the inputs, identity skips after.
    reduce=(("skip_connect", 0), ("max_pool_3x3", 1), ("avg_pool_3x3", 0),
            ("skip_connect", 2), ("skip_connect", 1), ("max_pool_3x3", 3),
            ("avg_pool_3x3", 2), ("skip_connect", 4)),
    reduce_concat=(2, 3, 4, 5))
# No node of the normal cell reads input 0, so its preprocessing never runs.
NEVER_READS_0 = Genotype(
    normal=(("sep_conv_3x3", 1), ("skip_connect", 1), ("max_pool_3x3", 1),
            ("sep_conv_3x3", 2), ("skip_connect", 2), ("dil_conv_3x3", 3),
            ("avg_pool_3x3", 1), ("sep_conv_5x5", 4)),
    normal_concat=(2, 3, 4, 5), reduce=BUILT_IN["darts_v2"].reduce, reduce_concat=(2, 3, 4, 5))
# Concatenating only some nodes changes the next cells' input channels.
PARTIAL_CONCAT = Genotype(BUILT_IN["darts_v2"].normal, (3, 5), BUILT_IN["asap"].reduce,
                          (2, 4, 5))


def profiled_multiply_adds(model, image_shape) -> int:
    """TF's profiler on the frozen inference graph, only the convolution and matmul ops.

    The independent count: the profiler reads every op's shapes from the traced graph.
    """
    spec = tf.TensorSpec((1, *image_shape), tf.float32)
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(fn).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    options["account_type_regexes"] = COUNTED_OPS
    flops = tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops
    return int(flops) // 2  # the registry counts a multiply-add as 2 FLOPs


# Every side a dilated convolution sees is even here: TF runs a dilated depthwise convolution
# through SpaceToBatchND, and on an odd side the profiler counts the padded outputs too.
# Odd sides (ceil division) are checked with cells without dilated convolutions.
CASES = [
    ("darts_v2", (16, 16, 3), 5, "cifar"),
    ("asap", (16, 8, 1), 6, "cifar"),
    ("random", (8, 8, 1), 6, "cifar"),
    ("pools_and_skips", (16, 16, 3), 5, "cifar"),
    ("pools_and_skips", (64, 64, 3), 5, "imagenet"),
    ("darts_v1", (9, 9, 1), 5, "cifar"),
    ("darts_v1", (40, 24, 3), 6, "imagenet"),
    ("partial_concat", (8, 8, 3), 6, "cifar"),
    ("never_reads_0", (8, 8, 1), 5, "cifar"),
    # Free cells: an edge with two ops, a one-input node, an unread input, concats of 3 and
    # 2 nodes; with the reduction cell reading only input 0, cells that nothing reads.
    ("free", (8, 8, 1), 3, "cifar"),
    ("free", (16, 16, 3), 5, "cifar"),
    ("free_dead_cells", (8, 8, 1), 3, "cifar"),
    ("free_dead_cells", (16, 16, 3), 5, "cifar"),
]
GENOTYPES = {**BUILT_IN, "random": random_genotype(ASAP_OPS, 4, seed=3),
             "pools_and_skips": POOLS_AND_SKIPS, "partial_concat": PARTIAL_CONCAT,
             "never_reads_0": NEVER_READS_0, "free": FREE, "free_dead_cells": DEAD_CELL_1}


@pytest.mark.parametrize("name, shape, layers, variant", CASES)
def test_cost_matches_the_built_network_and_tf_profiler(name, shape, layers, variant):
    genotype = GENOTYPES[name]
    model = EvalNetwork(genotype, 7, shape, channels=8, layers=layers, auxiliary=True,
                        variant=variant)
    cost = network_cost(genotype, 7, shape, channels=8, layers=layers, variant=variant)
    assert cost["parameters"] == count_parameters(model)
    assert cost["multiply_adds"] == profiled_multiply_adds(model, shape)
    with_aux = network_cost(genotype, 7, shape, channels=8, layers=layers, auxiliary=True,
                            variant=variant)
    tower = sum(int(tf.size(v)) for v in model.aux_head.trainable_variables)
    assert with_aux["auxiliary_parameters"] == tower
    assert with_aux["parameters"] == cost["parameters"] and cost["auxiliary_parameters"] == 0


def test_the_random_cell_has_a_dilated_op_and_pools_only_cells_cost_less():
    assert any(op.startswith("dil_conv") for op, _ in GENOTYPES["random"].normal
               + GENOTYPES["random"].reduce)
    lean = Genotype(tuple(("max_pool_3x3", src) for _, src in POOLS_AND_SKIPS.normal),
                    (2, 3, 4, 5), POOLS_AND_SKIPS.reduce, (2, 3, 4, 5))
    assert (network_cost(lean, 10, (32, 32, 3))["multiply_adds"]
            < network_cost(POOLS_AND_SKIPS, 10, (32, 32, 3))["multiply_adds"])


def test_paper_sized_cells_have_their_published_parameter_counts():
    # DARTS (Liu et al., 2019), Table 1: DARTS (second order) on CIFAR-10, 3.3 M parameters.
    cifar = network_cost(BUILT_IN["darts_v2"], 10, (32, 32, 3), channels=36, layers=20)
    assert cifar["parameters"] / 1e6 == pytest.approx(3.3, abs=0.1)
    # The same paper, Table 3: the cell in the ImageNet mobile setting (14 cells, C=48), 4.7 M.
    imagenet = network_cost(BUILT_IN["darts_v2"], 1000, (224, 224, 3), channels=48, layers=14,
                            variant="imagenet")
    assert imagenet["parameters"] / 1e6 == pytest.approx(4.7, abs=0.1)


def test_op_cost_by_hand():
    # sep_conv_3x3, C=4, stride 2 on 5x5 -> 3x3: two (depthwise 9*4 + pointwise 16 + BN 8).
    assert op_cost("sep_conv_3x3", 4, 2, 5, 5) == (2 * (36 + 16 + 8), 9 * 2 * (36 + 16))
    # dil_conv_3x3 at stride 2: its depthwise runs on all 5x5 inputs, the pointwise on 3x3.
    assert op_cost("dil_conv_3x3", 4, 2, 5, 5) == (36 + 16 + 8, 25 * 36 + 9 * 16)
    # A strided skip is FactorizedReduce: two 1x1 convs to C/2 on a 3x3 grid, and BN.
    assert op_cost("skip_connect", 4, 2, 5, 5) == (2 * 8 + 8, 2 * 9 * 8)
    assert op_cost("skip_connect", 4, 1, 5, 5) == (0, 0)
    assert op_cost("max_pool_3x3", 4, 2, 5, 5) == (0, 0)
    assert op_cost("none", 4, 1, 5, 5) == (0, 0)


def test_bad_arguments_name_the_value():
    darts = BUILT_IN["darts_v2"]
    with pytest.raises(ConfigError, match=r"Received: image_shape=\(32, 32\)"):
        network_cost(darts, 10, (32, 32))
    with pytest.raises(ConfigError, match="Received: variant='mobile'"):
        network_cost(darts, 10, (32, 32, 3), variant="mobile")
    with pytest.raises(ConfigError, match="Received: layers=0"):
        network_cost(darts, 10, (32, 32, 3), layers=0)
    with pytest.raises(ConfigError, match="Received: op='conv_9x9'"):
        op_cost("conv_9x9", 4, 1, 8, 8)
    with pytest.raises(GenotypeError):
        network_cost({"normal": []}, 10, (32, 32, 3))


def test_cost_model_imports_no_tensorflow():
    script = ("import sys; import asap_keras.child.cost as c; "
              "from asap_keras.child.genotypes import BUILT_IN; "
              "c.network_cost(BUILT_IN['asap'], 10, (32, 32, 3)); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_live_states_follow_the_concat_back_through_the_cell():
    # darts_v2's normal cell: node 5 reads node 2; node 4 (sep@1, skip@0) feeds nothing kept.
    normal = BUILT_IN["darts_v2"].edges("normal")
    assert live_states(normal, (3, 5)) == {0, 1, 2, 3, 5}
    assert live_states(normal, (2, 3, 4, 5)) == {0, 1, 2, 3, 4, 5}
    only_input_1 = pair_edges((("sep_conv_3x3", 1),) * 8)
    assert live_states(only_input_1, (2, 3, 4, 5)) == {1, 2, 3, 4, 5}


def test_free_cells_live_where_a_later_cell_reads_them():
    from asap_keras.child.cost import live_cells

    # 5 cells, reductions at 1 and 3. FREE: normal cells read input 1, reductions both.
    assert live_cells(FREE, 5) == [True] * 5
    # DEAD_CELL_1: reductions read only input 0. Cell 4 (normal) reads 3, 3 reads 1, 1 reads
    # the stem; nothing reads cells 0 and 2.
    assert live_cells(DEAD_CELL_1, 5) == [False, True, False, True, True]
    # Kept for a tower, cell 2 (normal) reads cell 1, already live: cell 0 stays dead.
    assert live_cells(DEAD_CELL_1, 5, keep=(2,)) == [False, True, True, True, True]
    assert live_cells(BUILT_IN["asap"], 5) == [True] * 5


def test_a_free_cell_only_the_auxiliary_tower_reads_is_built_and_counted():
    # Normal cells read only input 0. In 4 cells (reductions at 1 and 2), cell 3 reads cell
    # 1, so cell 2 runs only for the auxiliary tower (at 2 * 4 // 3 = 2).
    genotype = Genotype.free([("sep_conv_3x3", 0, 2)],
                             [("skip_connect", 0, 2), ("sep_conv_3x3", 1, 2)], nodes=1)
    for auxiliary in (False, True):
        model = EvalNetwork(genotype, 5, (8, 8, 1), channels=4, layers=4, auxiliary=auxiliary)
        assert [c is None for c in model.cells] == [False, False, not auxiliary, False]
        cost = network_cost(genotype, 5, (8, 8, 1), channels=4, layers=4, auxiliary=auxiliary)
        assert cost["parameters"] == count_parameters(model)
        assert cost["multiply_adds"] == profiled_multiply_adds(model, (8, 8, 1))
