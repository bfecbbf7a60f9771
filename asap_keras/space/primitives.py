"""Candidate operation names of the DARTS cell space and the standard op sets."""

from __future__ import annotations

from collections.abc import Sequence

from asap_keras.errors import ConfigError

NONE = "none"
SKIP = "skip_connect"

# The paper's 7 candidates (ASAP Sec. 4.1 drops the DARTS `none` op).
ASAP_OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    SKIP,
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
# The DARTS 8 (Liu et al., 2019): the same with `none` (the zero op) first.
DARTS_OPS = (NONE, *ASAP_OPS)

# GOLD-NAS' reduced set (METHODS 5(6)): an identity and one separable convolution.
GOLD_OPS = (SKIP, "sep_conv_3x3")

OP_SETS = {"asap": ASAP_OPS, "darts": DARTS_OPS, "gold": GOLD_OPS}
ALL_OPS = frozenset(DARTS_OPS)


def op_set(spec: str | Sequence[str]) -> tuple[str, ...]:
    """The candidate op names of `space.ops`: a named set, or a list of op names.

    A list keeps its order; it needs at least two distinct known ops, one of them not `none`.

    Raises:
        ConfigError: an unknown set or op name, a repeated op, or too few ops.
    """
    if isinstance(spec, str):
        if spec not in OP_SETS:
            raise ConfigError(f"space.ops must be one of {sorted(OP_SETS)} or a list of op "
                              f"names. Received: ops={spec!r}")
        return OP_SETS[spec]
    ops = tuple(spec)
    unknown = [op for op in ops if op not in ALL_OPS]
    if unknown:
        raise ConfigError(f"space.ops names unknown op(s) {unknown}; known ops: "
                          f"{sorted(ALL_OPS)}. Received: ops={list(ops)!r}")
    if len(set(ops)) != len(ops):
        raise ConfigError(f"space.ops lists an op twice. Received: ops={list(ops)!r}")
    if len(ops) < 2:  # distinct, so at least one of them is not `none`
        raise ConfigError("space.ops needs at least 2 ops, one of them not 'none'. "
                          f"Received: ops={list(ops)!r}")
    return ops


def edge_count(nodes: int) -> int:
    """Edges of a cell with 2 inputs and `nodes` intermediate nodes (14 for 4 nodes)."""
    return sum(2 + i for i in range(nodes))


def node_count(edges: int) -> int:
    """The intermediate nodes of a cell with `edges` edges (4 for 14): `edge_count`'s inverse.

    Raises:
        ConfigError: no node count gives that many edges.
    """
    nodes = 0
    while edge_count(nodes) < edges:
        nodes += 1
    if edge_count(nodes) != edges:
        raise ConfigError(f"no cell has exactly {edges} edges (2 inputs, nodes reading every "
                          f"earlier state). Received: edges={edges!r}")
    return nodes


def edge_endpoints(nodes: int) -> list[tuple[int, int]]:
    """`(source, target)` of each edge, in edge order; inputs are 0, 1, node i is i + 2."""
    return [(src, node + 2) for node in range(nodes) for src in range(2 + node)]
