"""Reading a cell out of op strengths: DARTS' top-2 rule, or a free cell (GOLD-NAS, NAP)."""

from __future__ import annotations

import numpy as np

from asap_keras.errors import GenotypeError
from asap_keras.space.genotype import EDGES_PER_NODE, Genotype
from asap_keras.space.primitives import NONE, edge_endpoints

CELL_TYPES = ("normal", "reduce")


def darts_cell(strength, alive, op_names, nodes):
    """The top-2 incoming edges of every node, each with its strongest alive op.

    Per edge, the alive op other than `none` of largest strength is kept, and the edge is
    ranked by that strength; an edge with no such op ranks last (-inf), and ties go to the
    lower source, as `genotype.derive_cell` does with ASAP's strengths.

    Args:
        strength: `(edges, ops)` the method's op weight (GOLD: the gate; NAP: |alpha|).
        alive: `(edges, ops)` 0/1 mask.
        op_names: the op of each column.
        nodes: intermediate nodes.

    Returns:
        `(op, source)` pairs, 2 per node, sources ascending within a node.

    Raises:
        GenotypeError: shapes that do not match `nodes` and `op_names`.
    """
    endpoints = edge_endpoints(nodes)
    strength, usable = _check(strength, alive, op_names, endpoints)
    real = np.array([name != NONE for name in op_names])
    fallback = int(np.argmax(real))  # a dead edge's op is never kept: it ranks last
    ranked = np.where(usable, strength, -np.inf)
    chosen = np.where(usable.any(axis=1), np.argmax(ranked, axis=1), fallback)
    edge_strength = ranked.max(axis=1)
    pairs = []
    for node in range(nodes):
        incoming = [e for e, (_, dst) in enumerate(endpoints) if dst == node + 2]
        best = sorted(incoming, key=lambda e: (-edge_strength[e], endpoints[e][0]))
        chosen_pairs = ((op_names[chosen[e]], endpoints[e][0]) for e in best[:EDGES_PER_NODE])
        pairs.extend(sorted(chosen_pairs, key=lambda pair: pair[1]))
    return tuple(pairs)


def free_cell(strength, kept, op_names, nodes, multi_op_edges=True):
    """The `(op, source, node)` triples of every kept op other than `none`.

    Args:
        strength: `(edges, ops)` the method's op weight, which picks an edge's one op
            when `multi_op_edges` is False (ties: the lower op index).
        kept: `(edges, ops)` 0/1: the ops the cell keeps.
        op_names: the op of each column.
        nodes: intermediate nodes.
        multi_op_edges: keep every kept op of an edge, not only its strongest.

    Returns:
        The triples in edge order (an edge's ops by column).
    """
    endpoints = edge_endpoints(nodes)
    strength, usable = _check(strength, kept, op_names, endpoints)
    triples = []
    for e, (src, dst) in enumerate(endpoints):
        columns = np.nonzero(usable[e])[0]
        if len(columns) and not multi_op_edges:
            columns = [columns[int(np.argmax(strength[e, columns]))]]
        triples.extend((op_names[k], src, dst) for k in columns)
    return triples


def derive(strengths, kept, op_names, nodes, topology="darts", multi_op_edges=True):
    """The genotype of a method whose strengths are not softmax weights (GOLD-NAS, NAP).

    Args:
        strengths: cell type -> `(edges, ops)` op strengths.
        kept: cell type -> `(edges, ops)` the ops a free cell keeps; a DARTS cell ranks
            these too.
        op_names: the op of each column.
        nodes: intermediate nodes.
        topology: "darts" (`darts_cell`) or "free" (`free_cell`, `Genotype.free`).
        multi_op_edges: a free edge keeps all its kept ops, not only the strongest.

    Returns:
        The `Genotype`.

    Raises:
        GenotypeError: malformed shapes, or a free cell type left with no live node.
    """
    if topology == "free":
        cells = {t: free_cell(strengths[t], kept[t], op_names, nodes, multi_op_edges)
                 for t in CELL_TYPES}
        return Genotype.free(cells["normal"], cells["reduce"], nodes)
    concat = tuple(range(2, nodes + 2))
    cells = {t: darts_cell(strengths[t], kept[t], op_names, nodes) for t in CELL_TYPES}
    return Genotype(cells["normal"], concat, cells["reduce"], concat)


def _check(strength, alive, op_names, endpoints):
    strength = np.asarray(strength, np.float64)
    alive = np.asarray(alive) > 0.5
    shape = (len(endpoints), len(op_names))
    if strength.shape != shape or alive.shape != shape:
        raise GenotypeError(f"strength and alive must both have shape {shape}. Received: "
                            f"strength.shape={strength.shape}, alive.shape={alive.shape}")
    real = np.array([name != NONE for name in op_names])
    return strength, alive & real
