"""Cell topologies: a cell as `(op, source, node)` edge triples, DARTS or free (GOLD-NAS, NAP)."""

from __future__ import annotations

from asap_keras.errors import GenotypeError, quote
from asap_keras.space.primitives import ALL_OPS, NONE

DARTS = "darts"
FREE = "free"
# "darts": 2 (op, source) pairs per node, the concat listed. "free": any number of ops per
# edge and of inputs per node; a node without input is dead; the concat is the live nodes.
TOPOLOGIES = (DARTS, FREE)
# Pair i of a DARTS cell feeds node i // 2 + 2.
EDGES_PER_NODE = 2


def pair_edges(pairs) -> tuple[tuple[str, int, int], ...]:
    """The `(op, source, node)` triples of a DARTS cell's `(op, source)` pairs, in pair order.

    Example:
    >>> pair_edges([("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 2)])
    (('sep_conv_3x3', 0, 2), ('skip_connect', 1, 2), ('max_pool_3x3', 2, 3))
    """
    return tuple((op, src, i // EDGES_PER_NODE + 2) for i, (op, src) in enumerate(pairs))


def prune_dead(edges) -> tuple[tuple[str, int, int], ...]:
    """The edges that remain once every edge leaving a dead node is dropped, sorted.

    A node is live when at least one remaining edge enters it; the inputs 0 and 1 always
    are. Dropping an edge can kill the node it entered, whose own out-edges then go too:
    as sources come before their nodes (`source < node`), one pass in node order settles it.

    Returns:
        The remaining triples, sorted by `(node, source, op)`.

    Example:
    >>> prune_dead([("skip_connect", 3, 4), ("sep_conv_3x3", 0, 2), ("max_pool_3x3", 2, 5)])
    (('sep_conv_3x3', 0, 2), ('max_pool_3x3', 2, 5))
    """
    kept, live = [], {0, 1}
    for op, src, dst in sorted(edges, key=_order):
        if src in live:
            kept.append((op, src, dst))
            live.add(dst)
    return tuple(kept)


def live_nodes(edges) -> tuple[int, ...]:
    """The intermediate nodes that some edge enters, ascending (a free cell's concat)."""
    return tuple(sorted({dst for _, _, dst in edges}))


def _order(edge):
    op, src, dst = edge
    return dst, src, op


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_nodes(nodes, max_nodes: int) -> int:
    """A free genotype's `nodes`: an integer (not a bool) in 1..max_nodes."""
    if not _is_int(nodes) or not 1 <= nodes <= max_nodes:
        raise GenotypeError(f"genotype.nodes must be an integer in 1..{max_nodes}. "
                            f"Received: nodes={quote(nodes)}")
    return nodes


def parse_edges(cell: str, edges, nodes: int) -> tuple[tuple[str, int, int], ...]:
    """A free cell's `[op, source, node]` triples, validated and sorted by (node, source, op).

    Each op is a known op other than `none` (an absent edge is no edge), each node in
    2..nodes+1 and each source before it; no triple repeats; at least one triple (a cell
    must output something). Dead nodes are not checked here (see `check_no_dead_sources`).

    Raises:
        GenotypeError: naming `genotype.{cell}` (and the index) and the value received.
    """
    most = (len(ALL_OPS) - 1) * sum(2 + i for i in range(nodes))  # each real op per edge
    if not isinstance(edges, (list, tuple)) or not edges or len(edges) > most:
        raise GenotypeError(f"genotype.{cell} must list 1..{most} distinct [op, source, node] "
                            f"triples for {nodes} nodes. Received: {cell}={quote(edges)}")
    parsed = []
    for i, edge in enumerate(edges):
        if (not isinstance(edge, (list, tuple)) or len(edge) != 3 or not _is_int(edge[1])
                or not _is_int(edge[2])):
            raise GenotypeError(f"genotype.{cell}[{i}] must be [op, source, node] with an "
                                f"integer source and node. Received: {quote(edge)}")
        op, src, dst = edge
        if not isinstance(op, str) or op not in ALL_OPS or op == NONE:
            raise GenotypeError(f"genotype.{cell}[{i}] has an unknown op (or `none`, which a "
                                f"free cell never keeps). Received: op={quote(op)}")
        if not 2 <= dst <= nodes + 1:
            raise GenotypeError(f"genotype.{cell}[{i}] must enter a node in 2..{nodes + 1}. "
                                f"Received: node={quote(dst)}")
        if not 0 <= src < dst:
            raise GenotypeError(f"genotype.{cell}[{i}]: node {dst} can only take sources "
                                f"0..{dst - 1}. Received: source={quote(src)}")
        parsed.append((op, src, dst))
    seen = set()
    for i, edge in enumerate(parsed):
        if edge in seen:
            raise GenotypeError(f"genotype.{cell}[{i}] repeats an edge. "
                                f"Received: {quote(list(edge))}")
        seen.add(edge)
    return tuple(sorted(parsed, key=_order))


def check_no_dead_sources(cell: str, edges) -> None:
    """Every source of a free cell is an input or a node that an edge enters.

    Raises:
        GenotypeError: an edge leaves a dead node (one with no inputs).
    """
    entered = set(live_nodes(edges))
    for op, src, dst in edges:
        if src >= 2 and src not in entered:
            raise GenotypeError(f"genotype.{cell} reads node {src}, which has no inputs (a "
                                f"dead node). Received: {quote([op, src, dst])}")


def check_concat(key: str, concat, live: tuple[int, ...]) -> tuple[int, ...]:
    """A free cell's concat: exactly its live nodes, ascending.

    Raises:
        GenotypeError: any other list.
    """
    if (not isinstance(concat, (list, tuple)) or any(not _is_int(c) for c in concat)
            or tuple(concat) != live):
        raise GenotypeError(f"genotype.{key} must list exactly the live nodes (those with an "
                            f"input), ascending: {list(live)}. Received: {key}={quote(concat)}")
    return live
