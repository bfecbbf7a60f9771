"""The discrete cell found by a search: a plain value, its derivation, and its JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from asap_keras.errors import GenotypeError, quote
from asap_keras.space import relaxation
from asap_keras.space import topology as topo
from asap_keras.space.primitives import ALL_OPS, NONE, edge_endpoints

EDGES_PER_NODE = topo.EDGES_PER_NODE
# Most intermediate nodes a genotype (and a checkpoint's signature) may have; DARTS uses 4.
MAX_NODES = 32
CELL_TYPES = ("normal", "reduce")


@dataclass(frozen=True)
class Genotype:
    """The discrete cells of a search: one per cell type, in one of two topologies.

    Sources 0 and 1 are the cell inputs; source i >= 2 is intermediate node i - 2.

    - `topology="darts"` (DARTS format): `normal` and `reduce` hold two `(op, source)` pairs
      per intermediate node, pair i feeding node i // 2 + 2; each concat lists nodes.
    - `topology="free"` (GOLD-NAS, NAP): they hold `(op, source, node)` triples, any number
      per edge and per node, sorted by (node, source, op); a node that no triple enters is
      dead and read by none; each concat is the live nodes; `node_count` is the number of
      intermediate nodes. Build it with `Genotype.free`.

    `edges(cell_type)` gives the triples of either topology.
    """

    normal: tuple[tuple, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple, ...]
    reduce_concat: tuple[int, ...]
    topology: str = topo.DARTS
    node_count: int | None = None  # "free" only

    @property
    def nodes(self) -> int:
        """Intermediate nodes per cell (a free cell's dead ones included)."""
        if self.topology == topo.FREE:
            return self.node_count
        return len(self.normal) // EDGES_PER_NODE

    def edges(self, cell_type: str) -> tuple[tuple[str, int, int], ...]:
        """The `(op, source, node)` triples of one cell type, for either topology.

        Example:
        >>> from asap_keras.child.genotypes import BUILT_IN
        >>> BUILT_IN["darts_v2"].edges("normal")[:3]
        (('sep_conv_3x3', 0, 2), ('sep_conv_3x3', 1, 2), ('sep_conv_3x3', 0, 3))

        Raises:
            GenotypeError: `cell_type` is neither "normal" nor "reduce".
        """
        if cell_type not in CELL_TYPES:
            raise GenotypeError(f"cell_type must be one of {CELL_TYPES}. "
                                f"Received: cell_type={quote(cell_type)}")
        cell = getattr(self, cell_type)
        return tuple(cell) if self.topology == topo.FREE else topo.pair_edges(cell)

    @classmethod
    def free(cls, normal, reduce, nodes) -> Genotype:
        """A free-topology genotype from the `(op, source, node)` edges each cell keeps.

        Edges leaving a dead node (one with no inputs) are dropped, repeatedly, as dropping
        them may kill the nodes they entered; the triples are sorted by (node, source, op)
        and each concat is the cell's live nodes.

        Args:
            normal, reduce: iterables of `(op, source, node)`: a known op other than
                `none`, `source < node`, `node` in 2..nodes+1, no triple twice.
            nodes: intermediate nodes per cell, in 1..MAX_NODES.

        Returns:
            The `Genotype`, `topology="free"`.

        Raises:
            GenotypeError: a malformed triple or node count, or a cell type left with no
                live node (a cell must output something).

        Example:
        >>> g = Genotype.free([("sep_conv_3x3", 0, 2), ("skip_connect", 3, 4)],
        ...                   [("max_pool_3x3", 1, 3)], nodes=3)
        >>> g.normal, g.normal_concat, g.reduce_concat
        ((('sep_conv_3x3', 0, 2),), (2,), (3,))
        """
        nodes = topo.parse_nodes(nodes, MAX_NODES)
        cells = {}
        for cell_type, edges in (("normal", normal), ("reduce", reduce)):
            edges = list(edges)
            kept = topo.prune_dead(topo.parse_edges(cell_type, edges, nodes)) if edges else ()
            if not kept:
                raise GenotypeError(f"genotype.{cell_type} has no live node once edges from "
                                    f"dead nodes are dropped; a cell must output something. "
                                    f"Received: {cell_type}={quote(edges)}")
            cells[cell_type] = kept
        return cls(cells["normal"], topo.live_nodes(cells["normal"]), cells["reduce"],
                   topo.live_nodes(cells["reduce"]), topo.FREE, nodes)

    def to_dict(self) -> dict:
        if self.topology == topo.FREE:
            return {"topology": topo.FREE, "nodes": self.node_count,
                    "normal": [list(edge) for edge in self.normal],
                    "normal_concat": list(self.normal_concat),
                    "reduce": [list(edge) for edge in self.reduce],
                    "reduce_concat": list(self.reduce_concat)}
        return {
            "normal": [[op, src] for op, src in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [[op, src] for op, src in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, raw: dict) -> Genotype:
        """Validates and builds a genotype from its dict (JSON) form.

        Without a `topology` key (or with "darts"): every pair is `[op, source]` with a
        known op name and an integer source (not a bool) that the node can read; both cells
        have the same node count, at most `MAX_NODES`; each concat lists distinct node
        indices. With `"topology": "free"`: `nodes` in 1..MAX_NODES; each cell lists
        distinct `[op, source, node]` triples (see `topology.parse_edges`), none leaving a
        dead node, in any order (they are stored sorted); each concat is exactly the live
        nodes.

        Raises:
            GenotypeError: missing keys, an unknown topology, wrong shapes or types, unknown
                ops, bad sources, node counts or concat entries, edges from dead nodes.
        """
        if not isinstance(raw, dict):
            raise GenotypeError(f"a genotype is a JSON object. Received: {type(raw).__name__} "
                                f"{quote(raw)}")
        topology = raw.get("topology", topo.DARTS)
        if not isinstance(topology, str) or topology not in topo.TOPOLOGIES:
            raise GenotypeError(f"genotype.topology must be one of {topo.TOPOLOGIES}. "
                                f"Received: topology={quote(topology)}")
        keys = ("normal", "normal_concat", "reduce", "reduce_concat")
        missing = [k for k in (("nodes",) if topology == topo.FREE else ()) + keys
                   if k not in raw]
        if missing:
            raise GenotypeError(f"genotype misses keys {missing}. Received: keys="
                                f"{quote(list(raw))}")
        if topology == topo.FREE:
            return cls._free_from_dict(raw)
        cells = {cell: _parse_pairs(cell, raw[cell]) for cell in CELL_TYPES}
        if len(cells["normal"]) != len(cells["reduce"]):
            raise GenotypeError("genotype.normal and genotype.reduce must have the same node "
                                f"count. Received: {len(cells['normal']) // 2} and "
                                f"{len(cells['reduce']) // 2}")
        nodes = len(cells["normal"]) // EDGES_PER_NODE
        concats = {key: _parse_concat(key, raw[key], nodes)
                   for key in ("normal_concat", "reduce_concat")}
        return cls(cells["normal"], concats["normal_concat"], cells["reduce"],
                   concats["reduce_concat"])

    @classmethod
    def _free_from_dict(cls, raw: dict) -> Genotype:
        """The free form of `from_dict` (its keys already present)."""
        nodes = topo.parse_nodes(raw["nodes"], MAX_NODES)
        cells, concats = {}, {}
        for cell in CELL_TYPES:
            cells[cell] = topo.parse_edges(cell, raw[cell], nodes)
            topo.check_no_dead_sources(cell, cells[cell])
            concats[cell] = topo.check_concat(f"{cell}_concat", raw[f"{cell}_concat"],
                                              topo.live_nodes(cells[cell]))
        return cls(cells["normal"], concats["normal"], cells["reduce"], concats["reduce"],
                   topo.FREE, nodes)

    @classmethod
    def from_json(cls, text: str | bytes) -> Genotype:
        """Parses and validates a genotype's JSON text.

        Raises:
            GenotypeError: not JSON (or not UTF-8, or nested too deeply), or an invalid
                genotype (see `from_dict`).
        """
        try:
            raw = json.loads(text)
        except RecursionError:
            raise GenotypeError("genotype JSON is nested too deeply") from None
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a 4300-digit int
            raise GenotypeError(f"genotype is not valid JSON: "
                                f"{str(err).splitlines()[0][:80]}") from None
        return cls.from_dict(raw)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_pairs(cell: str, pairs) -> tuple[tuple[str, int], ...]:
    """The `(op, source)` pairs of one cell type, validated (see `Genotype.from_dict`)."""
    if (not isinstance(pairs, (list, tuple)) or not pairs or len(pairs) % EDGES_PER_NODE
            or len(pairs) > EDGES_PER_NODE * MAX_NODES):
        raise GenotypeError(f"genotype.{cell} must list 2 (op, source) pairs per node, for "
                            f"1..{MAX_NODES} nodes. Received: {cell}={quote(pairs)}")
    parsed = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not _is_int(pair[1]):
            raise GenotypeError(f"genotype.{cell}[{i}] must be [op, source] with an integer "
                                f"source. Received: {quote(pair)}")
        op, src = pair
        node = i // EDGES_PER_NODE
        if not isinstance(op, str) or op not in ALL_OPS:
            raise GenotypeError(f"genotype.{cell}[{i}] has an unknown op. "
                                f"Received: op={quote(op)}")
        if not 0 <= src < node + 2:
            raise GenotypeError(f"genotype.{cell}[{i}]: node {node + 2} can only take "
                                f"sources 0..{node + 1}. Received: source={quote(src)}")
        parsed.append((op, src))
    return tuple(parsed)


def _parse_concat(key: str, concat, nodes: int) -> tuple[int, ...]:
    """A cell's concat: distinct intermediate node indices (see `Genotype.from_dict`)."""
    if (not isinstance(concat, (list, tuple)) or not concat
            or any(not _is_int(c) or not 2 <= c < nodes + 2 for c in concat)
            or len(set(concat)) != len(concat)):
        raise GenotypeError(f"genotype.{key} must list distinct node indices in "
                            f"2..{nodes + 1}. Received: {key}={quote(concat)}")
    return tuple(concat)


def edge_choices(alpha, alive, temperature, op_names):
    """Per edge, the op it keeps and that op's strength (the ranking key of `derive_cell`).

    The op is the alive op other than `none` with the largest alpha (the largest Phi over
    the alive ops). Its strength is its log weight in softmax(alpha / T) over all N
    candidates, pruned ones included with their last alpha (`relaxation.log_full_weights`),
    as DARTS ranks edges by the full softmax. An edge left with only `none` alive gets the
    non-`none` op of largest alpha and strength -inf, so it ranks last.

    Args:
        alpha: architecture parameters `(edges, ops)`.
        alive: 0/1 mask `(edges, ops)`.
        temperature: the state's T.
        op_names: the op of each column.

    Returns:
        `(op_index, log_strength)`: int and float64 arrays of shape `(edges,)`.

    Raises:
        GenotypeError: the op set has only `none`, or the shapes disagree.
    """
    alpha = np.asarray(alpha, np.float64)
    alive = np.asarray(alive) > 0.5
    real = np.array([name != NONE for name in op_names])
    if not real.any():
        raise GenotypeError("the op set has only `none`; no cell can be derived")
    if alpha.ndim != 2 or alpha.shape[1] != len(op_names) or alive.shape != alpha.shape:
        raise GenotypeError(f"alpha and alive must both have shape (edges, {len(op_names)}). "
                            f"Received: alpha.shape={alpha.shape}, alive.shape={alive.shape}")
    log_weights = relaxation.log_full_weights(alpha, temperature)
    usable = alive & real
    fallback = np.argmax(np.where(real, alpha, -np.inf), axis=1)
    chosen = np.where(usable.any(axis=1), np.argmax(np.where(usable, alpha, -np.inf), axis=1),
                      fallback)
    strength = np.where(usable.any(axis=1), log_weights[np.arange(len(alpha)), chosen], -np.inf)
    return chosen, strength


def derive_cell(alpha, alive, temperature, op_names, nodes):
    """The top-2 incoming edges of every node, each with its strongest op.

    Edges are ranked by `edge_choices`' strength; only exact ties fall back to the lower
    source. Once a search is discrete every edge's Phi over its alive ops is 1.0, so that
    Phi cannot rank edges; the weight over all candidates still carries what alpha learned.

    Args:
        alpha: architecture parameters `(edges, ops)`.
        alive: 0/1 mask `(edges, ops)`.
        temperature: the state's T.
        op_names: the op of each column.
        nodes: intermediate nodes.

    Returns:
        Tuple of `(op, source)` pairs, 2 per node, sources ascending within a node.

    Raises:
        GenotypeError: shapes that do not match `nodes` and `op_names`.
    """
    endpoints = edge_endpoints(nodes)
    shape = np.shape(alpha)
    if shape != (len(endpoints), len(op_names)):
        raise GenotypeError(f"alpha must have shape {(len(endpoints), len(op_names))} for "
                            f"{nodes} nodes. Received: alpha.shape={shape}")
    ops, strength = edge_choices(alpha, alive, temperature, op_names)
    chosen = []
    for node in range(nodes):
        incoming = [e for e, (_, dst) in enumerate(endpoints) if dst == node + 2]
        best = sorted(incoming, key=lambda e: (-strength[e], endpoints[e][0]))[:EDGES_PER_NODE]
        pairs = ((op_names[ops[e]], endpoints[e][0]) for e in best)
        chosen.extend(sorted(pairs, key=lambda pair: pair[1]))
    return tuple(chosen)


def derive(state, op_names, nodes) -> Genotype:
    """The genotype of an architecture state `{'alpha', 'alive', 'temperature'}`.

    `alpha` and `alive` map each cell type to its `(edges, ops)` array. The rule of the
    methods without their own (`SearchMethod.derive`): the per-epoch `genotype` event,
    `genotype.json` and `asap-keras derive` all call the run's method on the same saved
    state, so they agree.
    """
    concat = tuple(range(2, nodes + 2))
    cells = {t: derive_cell(state["alpha"][t], state["alive"][t], state["temperature"],
                            op_names, nodes)
             for t in ("normal", "reduce")}
    return Genotype(cells["normal"], concat, cells["reduce"], concat)


def random_genotype(op_names, nodes=4, seed=0) -> Genotype:
    """A cell drawn uniformly from the DARTS space: the random-search baseline.

    Each node takes 2 distinct sources drawn uniformly from its predecessors, and each of
    its edges an op drawn uniformly from `op_names` other than `none` (the same edge count
    per node as a derived cell), independently for the normal and the reduction cell.

    Args:
        op_names: the candidate ops.
        nodes: intermediate nodes.
        seed: the draw's seed; the same seed gives the same cell.

    Returns:
        The `Genotype`.

    Raises:
        GenotypeError: the op set has no op other than `none`.
    """
    real = [name for name in op_names if name != NONE]
    if not real:
        raise GenotypeError("the op set has only `none`; no cell can be drawn")
    rng = np.random.default_rng(seed)
    cells = {}
    for cell_type in ("normal", "reduce"):
        pairs = []
        for node in range(nodes):
            sources = sorted(rng.choice(node + 2, size=EDGES_PER_NODE, replace=False))
            pairs.extend((real[int(rng.integers(len(real)))], int(src)) for src in sources)
        cells[cell_type] = tuple(pairs)
    concat = tuple(range(2, nodes + 2))
    return Genotype(cells["normal"], concat, cells["reduce"], concat)


def cell_masks(genotype: Genotype, op_names, nodes) -> dict:
    """The supernet's alive masks holding exactly a genotype's cells (the final hard prune).

    Each kept edge keeps its chosen op (a free cell's edge: each of its ops); every other
    edge keeps none (it is removed).

    Returns:
        `{cell_type: bool array (edges, ops)}`.

    Raises:
        GenotypeError: the genotype has another node count or an op outside `op_names`, or
            a DARTS node reads one source twice.
    """
    endpoints = edge_endpoints(nodes)
    masks = {}
    for cell_type in CELL_TYPES:
        free = genotype.topology == topo.FREE
        pairs = getattr(genotype, cell_type)
        count = genotype.node_count if free else len(pairs) // EDGES_PER_NODE
        if count != nodes or not (free or len(pairs) == EDGES_PER_NODE * nodes):
            raise GenotypeError(f"genotype.{cell_type} has {count} nodes; the "
                                f"supernet has {nodes}. Received: {list(pairs)!r}")
        mask = np.zeros((len(endpoints), len(op_names)), bool)
        for i, (op, src, dst) in enumerate(genotype.edges(cell_type)):
            if op not in op_names:
                raise GenotypeError(f"genotype.{cell_type}[{i}] uses {op!r}, not a candidate "
                                    f"of this supernet ({list(op_names)})")
            edge = endpoints.index((src, dst))
            if mask[edge].any() and not free:  # a DARTS node reads a source once
                raise GenotypeError(f"genotype.{cell_type}[{i}] reads source {src} a second "
                                    f"time for node {dst}; a supernet edge holds one op. "
                                    f"Received: {list(pairs)!r}")
            mask[edge, op_names.index(op)] = True
        masks[cell_type] = mask
    return masks
