"""The discrete cell found by a search: a plain value, its derivation, and its JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from asap_keras.errors import GenotypeError
from asap_keras.space.primitives import ALL_OPS, NONE, edge_endpoints

EDGES_PER_NODE = 2


@dataclass(frozen=True)
class Genotype:
    """Two `(op, source)` pairs per intermediate node for each cell type (DARTS format).

    Sources 0 and 1 are the cell inputs; source i >= 2 is intermediate node i - 2.
    """

    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    @property
    def nodes(self) -> int:
        return len(self.normal) // EDGES_PER_NODE

    def to_dict(self) -> dict:
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
        """Validates and builds a genotype.

        Raises:
            GenotypeError: missing keys, unknown ops, bad sources or node counts.
        """
        if not isinstance(raw, dict):
            raise GenotypeError(f"a genotype is a JSON object. Received: {type(raw).__name__}")
        missing = [k for k in ("normal", "normal_concat", "reduce", "reduce_concat")
                   if k not in raw]
        if missing:
            raise GenotypeError(f"genotype misses keys {missing}")
        cells = {}
        for cell in ("normal", "reduce"):
            pairs = raw[cell]
            if not isinstance(pairs, list) or not pairs or len(pairs) % EDGES_PER_NODE:
                raise GenotypeError(f"genotype.{cell} must list 2 (op, source) pairs per node. "
                                    f"Received: {cell}={pairs!r}")
            parsed = []
            for i, pair in enumerate(pairs):
                if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                        or not isinstance(pair[1], int) or isinstance(pair[1], bool)):
                    raise GenotypeError(f"genotype.{cell}[{i}] must be [op, source]. "
                                        f"Received: {pair!r}")
                op, src = pair
                node = i // EDGES_PER_NODE
                if op not in ALL_OPS:
                    raise GenotypeError(f"genotype.{cell}[{i}] has an unknown op. "
                                        f"Received: op={op!r}")
                if not 0 <= src < node + 2:
                    raise GenotypeError(f"genotype.{cell}[{i}]: node {node + 2} can only take "
                                        f"sources 0..{node + 1}. Received: source={src}")
                parsed.append((op, src))
            cells[cell] = tuple(parsed)
        if len(cells["normal"]) != len(cells["reduce"]):
            raise GenotypeError("genotype.normal and genotype.reduce must have the same node "
                                f"count. Received: {len(cells['normal']) // 2} and "
                                f"{len(cells['reduce']) // 2}")
        nodes = len(cells["normal"]) // EDGES_PER_NODE
        concats = {}
        for key in ("normal_concat", "reduce_concat"):
            concat = raw[key]
            if (not isinstance(concat, list) or not concat
                    or any(not isinstance(c, int) or not 2 <= c < nodes + 2 for c in concat)):
                raise GenotypeError(f"genotype.{key} must list node indices in 2..{nodes + 1}. "
                                    f"Received: {key}={concat!r}")
            concats[key] = tuple(concat)
        return cls(cells["normal"], concats["normal_concat"], cells["reduce"],
                   concats["reduce_concat"])

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise GenotypeError(f"genotype is not valid JSON: {err}") from None
        return cls.from_dict(raw)


def derive_cell(phi, alpha, alive, op_names, nodes):
    """The top-2 incoming edges of every node, each with its strongest op.

    An edge's strength is the largest Phi among its alive ops other than `none`; its op is
    that op. An edge left with only `none` ranks last and, if still needed, takes the
    non-`none` op of largest alpha (all of them pruned), so derivation never fails.

    Args:
        phi: op weights `(edges, ops)`.
        alpha: architecture parameters `(edges, ops)`.
        alive: 0/1 mask `(edges, ops)`.
        op_names: the op of each column.
        nodes: intermediate nodes.

    Returns:
        Tuple of `(op, source)` pairs, 2 per node, sources ascending within a node.
    """
    phi, alpha = np.asarray(phi, np.float64), np.asarray(alpha, np.float64)
    alive = np.asarray(alive) > 0.5
    real = np.array([name != NONE for name in op_names])
    if not real.any():
        raise GenotypeError("the op set has only `none`; no cell can be derived")
    endpoints = edge_endpoints(nodes)
    if phi.shape != (len(endpoints), len(op_names)):
        raise GenotypeError(f"phi must have shape {(len(endpoints), len(op_names))}. "
                            f"Received: phi.shape={phi.shape}")
    chosen = []
    for node in range(nodes):
        candidates = []
        for e, (src, dst) in enumerate(endpoints):
            if dst != node + 2:
                continue
            usable = alive[e] & real
            if usable.any():
                k = int(np.argmax(np.where(usable, phi[e], -np.inf)))
                strength = phi[e, k]
            else:
                k = int(np.argmax(np.where(real, alpha[e], -np.inf)))
                strength = -1.0
            candidates.append((strength, -src, op_names[k], src))
        best = sorted(candidates, reverse=True)[:EDGES_PER_NODE]
        chosen.extend(sorted(((op, src) for _, _, op, src in best), key=lambda p: p[1]))
    return tuple(chosen)


def derive(state, op_names, nodes) -> Genotype:
    """The genotype of an architecture state `{'phi','alpha','alive'}` per cell type."""
    concat = tuple(range(2, nodes + 2))
    cells = {t: derive_cell(state["phi"][t], state["alpha"][t], state["alive"][t], op_names,
                            nodes)
             for t in ("normal", "reduce")}
    return Genotype(cells["normal"], concat, cells["reduce"], concat)
