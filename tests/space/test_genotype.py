import numpy as np
import pytest

from asap_keras.errors import GenotypeError
from asap_keras.space import genotype as g
from asap_keras.space.primitives import ASAP_OPS, DARTS_OPS, edge_endpoints

EDGES = edge_endpoints(4)  # (0,2) (1,2) | (0,3) (1,3) (2,3) | (0,4) .. (3,4) | (0,5) .. (4,5)


def discrete_state(margins, survivors, n_ops=len(ASAP_OPS)):
    """Every edge keeps one op whose alpha beats its pruned rivals (all at 0) by a margin."""
    alpha = np.zeros((len(EDGES), n_ops))
    alive = np.zeros((len(EDGES), n_ops), bool)
    for e, (margin, op) in enumerate(zip(margins, survivors)):
        alpha[e, op] = margin
        alive[e, op] = True
    return alpha, alive


def test_a_discrete_search_takes_the_edges_whose_alphas_won_clearly():
    # The surviving op of each edge from an intermediate node beat its rivals by far more
    # than those of the input edges; Phi over the alive ops is 1.0 on every edge, so only a
    # strength that remembers the pruned rivals can see it.
    margins = {(0, 2): 0.3, (1, 2): 0.2,
               (0, 3): 0.1, (1, 3): 0.4, (2, 3): 1.5,
               (0, 4): 0.1, (1, 4): 0.2, (2, 4): 1.2, (3, 4): 1.4,
               (0, 5): 0.3, (1, 5): 0.1, (2, 5): 0.2, (3, 5): 1.1, (4, 5): 1.3}
    survivors = [e % len(ASAP_OPS) for e in range(len(EDGES))]
    alpha, alive = discrete_state([margins[edge] for edge in EDGES], survivors)
    cell = g.derive_cell(alpha, alive, 0.5, ASAP_OPS, 4)
    sources = [src for _, src in cell]
    assert sources == [0, 1, 1, 2, 2, 3, 3, 4]
    # Each kept edge carries its surviving op.
    for i, (op, src) in enumerate(cell):
        assert op == ASAP_OPS[survivors[EDGES.index((src, 2 + i // 2))]]


def test_strength_breaks_ties_before_the_source_index():
    # Node 2 reads (0, 2) and (1, 2); node 3 has three candidates of which source 0 is the
    # weakest: the later sources must win although they have higher indices.
    margins = [0.5, 0.5, 0.1, 0.6, 0.7] + [0.5] * 9
    alpha, alive = discrete_state(margins, [0] * 14)
    cell = g.derive_cell(alpha, alive, 1.0, ASAP_OPS, 4)
    assert [src for _, src in cell[2:4]] == [1, 2]
    # Exactly equal strengths fall back to the lower source.
    assert [src for _, src in cell[4:6]] == [0, 1]


def test_strengths_near_one_still_rank_edges():
    # Softmax over all candidates rounds both survivors to 1.0 in float64; the margins still
    # differ (40 and 45), and the larger one must rank first.
    margins = [0.0] * 14
    margins[2], margins[3], margins[4] = 0.0, 40.0, 45.0  # node 3's edges from 0, 1, 2
    alpha, alive = discrete_state(margins, [1] * 14)
    full = np.exp(alpha[3]) / np.exp(alpha[3]).sum()
    assert full[1] == 1.0  # the plain softmax cannot tell them apart
    cell = g.derive_cell(alpha, alive, 1.0, ASAP_OPS, 4)
    assert [src for _, src in cell[2:4]] == [1, 2]


def test_strength_is_the_survivors_weight_among_all_candidates():
    # Hand formula: exp(a_s / T) / sum_o exp(a_o / T) over all N ops, pruned ones included.
    alpha = np.zeros((14, 3))
    alpha[0] = [1.0, 0.5, -0.5]
    alive = np.zeros((14, 3), bool)
    alive[:, 0] = True
    ops, strength = g.edge_choices(alpha, alive, 0.5,
                                   ("sep_conv_3x3", "max_pool_3x3", "skip_connect"))
    expected = np.exp(2.0) / (np.exp(2.0) + np.exp(1.0) + np.exp(-1.0))
    assert ops[0] == 0 and np.exp(strength[0]) == pytest.approx(expected)
    assert np.exp(strength[1]) == pytest.approx(1 / 3)


def test_all_alive_at_unit_temperature_is_the_darts_rule():
    # DARTS' genotype(): weights = softmax(alpha) over all ops; an edge scores its best
    # non-`none` weight; the top 2 edges per node; the argmax non-`none` op on each.
    rng = np.random.default_rng(7)
    alpha = rng.normal(size=(14, len(DARTS_OPS)))
    alive = np.ones_like(alpha, bool)
    weights = np.exp(alpha) / np.exp(alpha).sum(axis=1, keepdims=True)
    expected = []
    for node in range(4):
        incoming = [e for e, (_, dst) in enumerate(EDGES) if dst == node + 2]
        best = sorted(incoming, key=lambda e: -weights[e, 1:].max())[:2]
        expected += sorted((DARTS_OPS[1 + int(np.argmax(weights[e, 1:]))], EDGES[e][0])
                           for e in best)
    expected = [tuple(p) for p in expected]
    cell = g.derive_cell(alpha, alive, 1.0, DARTS_OPS, 4)
    assert sorted(cell[0:2], key=lambda p: p[1]) == list(cell[0:2])
    assert [sorted(cell[i:i + 2]) for i in range(0, 8, 2)] == \
        [sorted(expected[i:i + 2]) for i in range(0, 8, 2)]


def test_epoch_cap_with_several_alive_ops_takes_the_strongest_alive_real_op():
    alpha = np.zeros((14, len(DARTS_OPS)))
    alpha[0] = [3.0, 0.1, 2.0, 0.5, 1.0, 0, 0, 0]  # `none` largest, max_pool (2.0) pruned
    alive = np.ones_like(alpha, bool)
    alive[0, 2] = False
    cell = g.derive_cell(alpha, alive, 1.0, DARTS_OPS, 4)
    assert cell[0] == ("sep_conv_3x3", 0)


def test_edge_left_with_only_none_ranks_last_and_still_derives():
    alpha = np.zeros((14, len(DARTS_OPS)))
    alpha[:, 4] = 1.0  # every edge keeps sep_conv_3x3 ...
    alive = np.zeros_like(alpha, bool)
    alive[:, 4] = True
    alive[2] = False
    alive[2, 0] = True  # ... except (0, 3), left with only `none`
    alpha[2] = [5.0, 0.2, 0.9, 0.1, 0.3, 0.4, 0.5, 0.6]
    cell = g.derive_cell(alpha, alive, 1.0, DARTS_OPS, 4)
    assert all(op != "none" for op, _ in cell)
    assert [src for _, src in cell[2:4]] == [1, 2]  # (0, 3) lost to the real edges
    # Node 2 has only two edges: a `none`-only edge there is still taken, with its best
    # real op by alpha.
    alive[0] = False
    alive[0, 0] = True
    alpha[0] = [5.0, 0.2, 0.9, 0.1, 0.3, 0.4, 0.5, 0.6]
    cell = g.derive_cell(alpha, alive, 1.0, DARTS_OPS, 4)
    assert cell[0] == ("avg_pool_3x3", 0)


def test_bad_shapes_are_refused():
    with pytest.raises(GenotypeError, match="shape"):
        g.derive_cell(np.zeros((10, 7)), np.ones((10, 7)), 1.0, ASAP_OPS, 4)
    with pytest.raises(GenotypeError, match="only `none`"):
        g.edge_choices(np.zeros((14, 1)), np.ones((14, 1)), 1.0, ("none",))


def test_json_round_trip_and_validation():
    rng = np.random.default_rng(0)
    alpha = rng.normal(size=(14, len(ASAP_OPS)))
    alive = np.ones_like(alpha, bool)
    state = {"alpha": {"normal": alpha, "reduce": -alpha},
             "alive": {"normal": alive, "reduce": alive}, "temperature": 0.8}
    geno = g.derive(state, ASAP_OPS, 4)
    assert g.Genotype.from_json(geno.to_json()) == geno
    raw = geno.to_dict()
    raw["normal"][0][0] = "conv_9x9"
    with pytest.raises(GenotypeError, match="unknown op.*conv_9x9"):
        g.Genotype.from_dict(raw)
    raw = geno.to_dict()
    raw["reduce"][0][1] = 5
    with pytest.raises(GenotypeError, match="sources 0..1"):
        g.Genotype.from_dict(raw)
    raw = geno.to_dict()
    raw["reduce"] = raw["reduce"][:6]
    with pytest.raises(GenotypeError, match="same node count"):
        g.Genotype.from_dict(raw)
    with pytest.raises(GenotypeError, match="JSON"):
        g.Genotype.from_json("{")


def test_random_cells_are_uniform_valid_and_seeded():
    from collections import Counter

    from asap_keras.child.genotypes import resolve

    first = g.random_genotype(DARTS_OPS, 4, seed=5)
    assert first == g.random_genotype(DARTS_OPS, 4, seed=5) == g.random_genotype(
        list(DARTS_OPS), 4, seed=5)
    assert g.Genotype.from_dict(first.to_dict()) == first
    ops, sources = Counter(), Counter()
    for seed in range(400):
        geno = g.random_genotype(DARTS_OPS, 4, seed)
        for cell in (geno.normal, geno.reduce):
            for node in range(4):
                (op_a, a), (op_b, b) = cell[2 * node: 2 * node + 2]
                assert a < b < node + 2  # two distinct predecessors
                ops.update((op_a, op_b))
                if node == 3:
                    sources.update((a, b))
    assert "none" not in ops and set(ops) == set(DARTS_OPS[1:])
    # 6,400 ops over 7 names (914 each expected); node 5 picks each of 5 sources 2/5 of 800.
    assert all(800 < n < 1030 for n in ops.values()), ops
    assert all(250 < n < 390 for n in sources.values()), sources
    assert resolve("random:5") == g.random_genotype(ASAP_OPS, 4, 5)
    with pytest.raises(GenotypeError, match=r"random:SEED.*Received: genotype='random:x'"):
        resolve("random:x")


def test_cell_masks_keep_the_chosen_op_on_the_chosen_edges_only():
    from asap_keras.child.genotypes import BUILT_IN

    darts_v2 = BUILT_IN["darts_v2"]
    masks = g.cell_masks(darts_v2, list(ASAP_OPS), 4)
    for cell_type in ("normal", "reduce"):
        mask = masks[cell_type]
        assert mask.sum() == 8 and (mask.sum(axis=1) <= 1).all()
        kept = {(EDGES[e], ASAP_OPS[k]) for e, k in zip(*np.nonzero(mask))}
        pairs = getattr(darts_v2, cell_type)
        assert kept == {((src, 2 + i // 2), op) for i, (op, src) in enumerate(pairs)}
    with pytest.raises(GenotypeError, match="not a candidate"):
        g.cell_masks(darts_v2, ["sep_conv_3x3", "skip_connect"], 4)


def valid_raw():
    from asap_keras.child.genotypes import BUILT_IN

    return BUILT_IN["asap"].to_dict()


@pytest.mark.parametrize("change, match", [
    (lambda raw: raw["normal"].__setitem__(0, ["sep_conv_3x3"]), r"normal\[0\] must be"),
    (lambda raw: raw["normal"].__setitem__(0, "sep_conv_3x3"), r"normal\[0\] must be"),
    (lambda raw: raw["normal"].__setitem__(0, ["sep_conv_3x3", 0, 1]), r"normal\[0\] must be"),
    (lambda raw: raw["reduce"].__setitem__(1, ["sep_conv_3x3", True]), "integer source"),
    (lambda raw: raw["reduce"].__setitem__(1, ["sep_conv_3x3", 1.0]), "integer source"),
    (lambda raw: raw["reduce"].__setitem__(1, ["sep_conv_3x3", 10**400]), "sources 0..1"),
    (lambda raw: raw["reduce"].__setitem__(1, [["sep_conv_3x3"], 1]), "unknown op"),
    (lambda raw: raw["reduce"].__setitem__(1, [None, 1]), "unknown op"),
    (lambda raw: raw.__setitem__("normal_concat", [2, 3, 3, 5]), "distinct node indices"),
    (lambda raw: raw.__setitem__("reduce_concat", [2, True]), "distinct node indices"),
    (lambda raw: raw.__setitem__("reduce_concat", [2.0, 3]), "distinct node indices"),
    (lambda raw: raw.__setitem__("reduce_concat", []), "distinct node indices"),
    (lambda raw: raw.__setitem__("normal", raw["normal"] * 9), "for 1..32 nodes"),
    (lambda raw: raw.__setitem__("normal", []), "2 \\(op, source\\) pairs"),
    (lambda raw: raw.__setitem__("normal", {"a": 1}), "2 \\(op, source\\) pairs"),
    (lambda raw: raw.pop("reduce_concat"), "misses keys"),
])
def test_malformed_genotypes_are_refused_in_one_line(change, match):
    raw = valid_raw()
    change(raw)
    with pytest.raises(GenotypeError, match=match) as info:
        g.Genotype.from_dict(raw)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_a_cell_at_the_node_bound_is_accepted():
    pairs = [["skip_connect", node] for node in range(g.MAX_NODES) for _ in (0, 1)]
    concat = list(range(2, g.MAX_NODES + 2))
    geno = g.Genotype.from_dict({"normal": pairs, "normal_concat": concat,
                                 "reduce": pairs, "reduce_concat": concat})
    assert geno.nodes == g.MAX_NODES


@pytest.mark.parametrize("text", ["[" * 50_000, "9" * 5000, "[1, 2]", "null", b"\xff\xfe{}"])
def test_genotype_json_that_is_not_a_genotype_object(text):
    with pytest.raises(GenotypeError) as info:
        g.Genotype.from_json(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_cell_masks_refuse_a_node_reading_one_source_twice():
    raw = g.random_genotype(ASAP_OPS, 4, seed=0).to_dict()
    raw["normal"][1] = ["skip_connect", raw["normal"][0][1]]  # node 2 reads one source twice
    with pytest.raises(GenotypeError, match=r"reads source \d a second time for node 2"):
        g.cell_masks(g.Genotype.from_dict(raw), list(ASAP_OPS), 4)
