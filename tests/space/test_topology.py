"""The free cell topology: `Genotype.free`, dead nodes, its JSON form and every refusal."""

import numpy as np
import pytest

from asap_keras.errors import GenotypeError
from asap_keras.space import genotype as g
from asap_keras.space.primitives import ASAP_OPS, edge_endpoints
from asap_keras.space.topology import pair_edges, prune_dead

# Normal, 5 nodes (2..6): node 2 keeps two ops on the edge from input 0; node 3 has no
# input, so node 4 (read only from 3) and node 5 (read only from 4) die in turn, and the
# edge 5 -> 6 with them; node 6 lives through input 1. Reduce: input 0 is never read.
NORMAL_IN = [("sep_conv_5x5", 5, 6), ("dil_conv_3x3", 4, 5), ("skip_connect", 0, 2),
             ("avg_pool_3x3", 1, 6), ("max_pool_3x3", 3, 4), ("sep_conv_3x3", 0, 2)]
REDUCE_IN = [("skip_connect", 3, 5), ("max_pool_3x3", 1, 3)]
FREE = g.Genotype.free(NORMAL_IN, REDUCE_IN, nodes=5)
FREE_DICT = {
    "topology": "free", "nodes": 5,
    "normal": [["sep_conv_3x3", 0, 2], ["skip_connect", 0, 2], ["avg_pool_3x3", 1, 6]],
    "normal_concat": [2, 6],
    "reduce": [["max_pool_3x3", 1, 3], ["skip_connect", 3, 5]],
    "reduce_concat": [3, 5],
}


def test_free_drops_edges_from_dead_nodes_recursively_and_sorts():
    assert FREE.normal == (("sep_conv_3x3", 0, 2), ("skip_connect", 0, 2),
                           ("avg_pool_3x3", 1, 6))
    assert FREE.normal_concat == (2, 6)
    assert FREE.reduce == (("max_pool_3x3", 1, 3), ("skip_connect", 3, 5))
    assert FREE.reduce_concat == (3, 5)
    assert FREE.topology == "free" and FREE.node_count == FREE.nodes == 5
    assert FREE.edges("normal") == FREE.normal
    # The pure helper agrees, on any order of its input.
    assert prune_dead(reversed(NORMAL_IN)) == FREE.normal


def test_free_takes_iterators_and_refuses_a_cell_without_a_live_node():
    same = g.Genotype.free(iter(NORMAL_IN), (e for e in REDUCE_IN), 5)
    assert same == FREE
    # Node 2 has no input, so node 3 (read only from it) is dead too: nothing is output.
    with pytest.raises(GenotypeError, match=r"genotype\.reduce has no live node"):
        g.Genotype.free(NORMAL_IN, [("sep_conv_3x3", 2, 3)], 5)
    with pytest.raises(GenotypeError, match=r"genotype\.normal has no live node"):
        g.Genotype.free([], REDUCE_IN, 5)
    with pytest.raises(GenotypeError, match=r"genotype\.normal\[1\] repeats an edge"):
        g.Genotype.free([("sep_conv_3x3", 0, 2)] * 2, REDUCE_IN, 5)
    with pytest.raises(GenotypeError, match=r"Received: nodes=0"):
        g.Genotype.free(NORMAL_IN, REDUCE_IN, 0)


def test_free_json_round_trip_is_exact():
    assert FREE.to_dict() == FREE_DICT
    assert g.Genotype.from_dict(FREE_DICT) == FREE
    assert g.Genotype.from_json(FREE.to_json()) == FREE
    assert g.Genotype.from_json(FREE.to_json()).to_json() == FREE.to_json()
    # Triples in any order are stored sorted.
    shuffled = {**FREE_DICT, "normal": FREE_DICT["normal"][::-1]}
    assert g.Genotype.from_dict(shuffled) == FREE


def test_darts_genotypes_keep_their_form_and_accept_an_explicit_topology():
    from asap_keras.child.genotypes import BUILT_IN

    darts = BUILT_IN["darts_v2"]
    assert "topology" not in darts.to_dict() and darts.topology == "darts"
    assert g.Genotype.from_dict({**darts.to_dict(), "topology": "darts"}) == darts


def test_edges_of_a_darts_genotype_follow_the_pair_layout():
    from asap_keras.child.genotypes import BUILT_IN

    # darts_v2's normal pairs, two per node, node 2 first (Liu et al.).
    assert BUILT_IN["darts_v2"].edges("normal") == (
        ("sep_conv_3x3", 0, 2), ("sep_conv_3x3", 1, 2),
        ("sep_conv_3x3", 0, 3), ("sep_conv_3x3", 1, 3),
        ("sep_conv_3x3", 1, 4), ("skip_connect", 0, 4),
        ("skip_connect", 0, 5), ("dil_conv_3x3", 2, 5))
    assert pair_edges([("max_pool_3x3", 1)]) == (("max_pool_3x3", 1, 2),)
    with pytest.raises(GenotypeError, match="Received: cell_type='both'"):
        BUILT_IN["darts_v2"].edges("both")


def changed(**fields):
    return {**FREE_DICT, **fields}


@pytest.mark.parametrize("raw, match", [
    (changed(topology="nas"), r"genotype\.topology must be one of .*Received: topology='nas'"),
    (changed(topology=3), r"genotype\.topology .*Received: topology=3"),
    ({k: v for k, v in FREE_DICT.items() if k != "nodes"}, r"misses keys \['nodes'\]"),
    (changed(nodes=0), r"genotype\.nodes must be an integer in 1\.\.32\. Received: nodes=0"),
    (changed(nodes=33), r"Received: nodes=33"),
    (changed(nodes=True), r"Received: nodes=True"),
    (changed(nodes="5"), r"Received: nodes='5'"),
    (changed(normal={"a": 1}), r"genotype\.normal must list 1\.\.\d+ distinct .*normal=\{"),
    (changed(reduce=[]), r"genotype\.reduce must list .*Received: reduce=\[\]"),
    (changed(normal=[["sep_conv_3x3", 0, 2]] * 400), r"genotype\.normal must list 1\.\.140 "),
    (changed(normal=[["sep_conv_3x3", 0]]), r"genotype\.normal\[0\] must be \[op, source, "
                                           r"node\].*Received: \['sep_conv_3x3', 0\]"),
    (changed(normal=[["sep_conv_3x3", True, 2]]), r"normal\[0\] must be .*integer source"),
    (changed(normal=[["sep_conv_3x3", 0, 2.0]]), r"normal\[0\] must be .*integer source"),
    (changed(reduce=[["max_pool_3x3", 1, 3], ["conv_9x9", 3, 5]]),
     r"genotype\.reduce\[1\] has an unknown op .*Received: op='conv_9x9'"),
    (changed(reduce=[["none", 1, 3]]), r"reduce\[0\] has an unknown op \(or `none`.*op='none'"),
    (changed(normal=[["sep_conv_3x3", 0, 7]]),
     r"genotype\.normal\[0\] must enter a node in 2\.\.6\. Received: node=7"),
    (changed(normal=[["sep_conv_3x3", 3, 3]]),
     r"genotype\.normal\[0\]: node 3 can only take sources 0\.\.2\. Received: source=3"),
    (changed(normal=[["sep_conv_3x3", 0, 2], ["sep_conv_3x3", 0, 2]], normal_concat=[2]),
     r"genotype\.normal\[1\] repeats an edge\. Received: \['sep_conv_3x3', 0, 2\]"),
    # Node 3 has no input: the edge 3 -> 4 reads a dead node.
    (changed(normal=[["sep_conv_3x3", 0, 2], ["skip_connect", 3, 4]], normal_concat=[2, 4]),
     r"genotype\.normal reads node 3, which has no inputs .*\['skip_connect', 3, 4\]"),
    (changed(normal_concat=[2, 3]), r"genotype\.normal_concat must list exactly the live "
                                    r"nodes .*: \[2, 6\]\. Received: normal_concat=\[2, 3\]"),
    (changed(reduce_concat=[5, 3]), r"reduce_concat must list exactly .*reduce_concat=\[5, 3\]"),
    (changed(reduce_concat=[3]), r"Received: reduce_concat=\[3\]"),
    (changed(reduce_concat=[3.0, 5]), r"Received: reduce_concat=\[3\.0, 5\]"),
])
def test_malformed_free_genotypes_are_refused_in_one_line(raw, match):
    with pytest.raises(GenotypeError, match=match) as info:
        g.Genotype.from_dict(raw)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_cell_masks_of_a_free_genotype_keep_every_op_of_an_edge():
    genotype = g.Genotype.free([("sep_conv_3x3", 0, 2), ("skip_connect", 0, 2),
                                ("max_pool_3x3", 2, 4)],
                               [("max_pool_3x3", 1, 3)], nodes=3)
    masks = g.cell_masks(genotype, list(ASAP_OPS), 3)
    endpoints = edge_endpoints(3)
    kept = {(endpoints[e], ASAP_OPS[k]) for e, k in zip(*np.nonzero(masks["normal"]))}
    assert kept == {((0, 2), "sep_conv_3x3"), ((0, 2), "skip_connect"),
                    ((2, 4), "max_pool_3x3")}
    assert masks["reduce"].sum() == 1
    with pytest.raises(GenotypeError, match="the supernet has 4"):
        g.cell_masks(genotype, list(ASAP_OPS), 4)
