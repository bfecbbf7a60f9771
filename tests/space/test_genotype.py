import numpy as np
import pytest

from asap_keras.errors import GenotypeError
from asap_keras.space import genotype as g
from asap_keras.space.primitives import ASAP_OPS, DARTS_OPS, edge_count


def _state(ops, nodes=4, seed=0):
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=(edge_count(nodes), len(ops)))
    alive = np.ones_like(alpha, bool)
    phi = np.exp(alpha) / np.exp(alpha).sum(1, keepdims=True)
    return phi, alpha, alive


def test_derive_keeps_top_two_edges_per_node_with_strongest_ops():
    phi, alpha, alive = _state(ASAP_OPS)
    cell = g.derive_cell(phi, alpha, alive, ASAP_OPS, 4)
    assert len(cell) == 8
    edges = [(s, d) for d in range(2, 6) for s in range(d)]
    for node in range(4):
        pairs = cell[2 * node: 2 * node + 2]
        incoming = [e for e, (s, d) in enumerate(edges) if d == node + 2]
        strength = {edges[e][0]: phi[e].max() for e in incoming}
        best = sorted(strength, key=strength.get, reverse=True)[:2]
        assert sorted(src for _, src in pairs) == sorted(best)
        for op, src in pairs:
            e = edges.index((src, node + 2))
            assert op == ASAP_OPS[int(np.argmax(phi[e]))]


def test_edge_left_with_only_none_ranks_last_and_still_derives():
    phi, alpha, alive = _state(DARTS_OPS, seed=3)
    alive[:] = False
    alive[:, 3] = True  # everything keeps skip_connect ...
    alive[0] = False
    alive[0, 0] = True  # ... except edge 0 (0 -> 2), left with only `none`
    phi = np.where(alive, 1.0, 0.0)
    cell = g.derive_cell(phi, alpha, alive, DARTS_OPS, 4)
    assert all(op != "none" for op, _ in cell)
    # Node 2 has only two incoming edges, so the `none` edge is still taken, with a real op.
    assert cell[0][1] == 0 and cell[0][0] == DARTS_OPS[1 + int(np.argmax(alpha[0, 1:]))]


def test_json_round_trip_and_validation():
    phi, alpha, alive = _state(ASAP_OPS)
    state = {"phi": {"normal": phi, "reduce": phi}, "alpha": {"normal": alpha, "reduce": alpha},
             "alive": {"normal": alive, "reduce": alive}}
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
