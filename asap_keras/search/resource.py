"""The supernet's resource: multiply-adds per candidate op and in all, and GOLD-NAS' penalty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asap_keras.child.cost import conv_cost, factorized_reduce_cost, network_cost, op_cost
from asap_keras.errors import ConfigError
from asap_keras.space.primitives import edge_endpoints

MEGA = 1e6  # GOLD-NAS counts FLOPs (multiply-adds) in millions
CELL_TYPES = ("normal", "reduce")


@dataclass(frozen=True)
class Geometry:
    """What the supernet's cost depends on: its op set, stack, widths and input.

    Args:
        op_names: the candidate ops of every edge.
        cells, channels, nodes, stem_multiplier: as `SearchNetwork`.
        image_shape: `(H, W, C)` of the input images.
        num_classes: output classes.
    """

    op_names: tuple
    cells: int
    channels: int
    nodes: int
    stem_multiplier: int
    image_shape: tuple
    num_classes: int

    @classmethod
    def of(cls, network, image_shape) -> Geometry:
        """The geometry of a `SearchNetwork` fed images of `image_shape`."""
        return cls(tuple(network.op_names), network.num_cells, network.channels,
                   network.nodes, network.stem_multiplier, tuple(int(d) for d in image_shape),
                   network.num_classes)


@dataclass(frozen=True)
class SupernetCost:
    """Multiply-adds of the supernet: a fixed base plus each alive candidate op.

    `per_op[t][e, o]` sums op o of edge e over every cell of type t (alphas and masks are
    shared per type), at each cell's own channels and resolution.

    Args:
        base: the stem, every cell's preprocessing and the classifier.
        per_op: cell type -> `(edges, ops)` int64 multiply-adds.
        cells_of_type: cell type -> how many cells of that type the stack holds.
    """

    base: int
    per_op: dict
    cells_of_type: dict

    def madds(self, alive) -> int:
        """Multiply-adds per image of the supernet with the ops of `alive` (type -> mask).

        A cell type absent from `alive` counts none of its ops.
        """
        total = self.base
        for cell_type, table in self.per_op.items():
            if cell_type in alive:
                total += int(np.sum(table * (np.asarray(alive[cell_type]) > 0.5)))
        return int(total)


def _half(side):
    return -(-side // 2)


def supernet_cost(geometry: Geometry) -> SupernetCost:
    """Counts the supernet's multiply-adds as `SearchNetwork` computes them.

    The stem's 3x3 convolution; per cell the two preprocessing ops (a 1x1 `ReLUConvBN`, or
    `FactorizedReduce` after a reduction) and every candidate op of every edge
    (`child.cost.op_cost`: the convolutions; pools, BatchNorm and sums are not counted);
    the classifier on the pooled features. Reductions at 1/3 and 2/3 of the stack double
    the channels; their edges from the inputs have stride 2.

    Raises:
        ConfigError: an op `op_cost` does not know.
    """
    g = geometry
    h, w, in_channels = g.image_shape
    stem = g.stem_multiplier * g.channels
    base = conv_cost(in_channels, stem, 3, h, w)[1]
    endpoints = edge_endpoints(g.nodes)
    per_op = {t: np.zeros((len(endpoints), len(g.op_names)), np.int64) for t in CELL_TYPES}
    counts = dict.fromkeys(CELL_TYPES, 0)
    c_pp, c_p, c_curr = stem, stem, g.channels
    s0 = s1 = (h, w)  # the sides of the cell's two inputs
    reductions = {g.cells // 3, (2 * g.cells) // 3}  # `network.reduction_positions`
    reduction_prev = False
    for i in range(g.cells):
        reduction = i in reductions
        c_curr = 2 * c_curr if reduction else c_curr
        cell_type = "reduce" if reduction else "normal"
        counts[cell_type] += 1
        if reduction_prev:
            base += factorized_reduce_cost(c_pp, c_curr, *s0)[1]
        else:
            base += conv_cost(c_pp, c_curr, 1, *s1)[1]
        base += conv_cost(c_p, c_curr, 1, *s1)[1]
        out = (_half(s1[0]), _half(s1[1])) if reduction else s1
        for e, (src, _) in enumerate(endpoints):
            strided = reduction and src < 2
            side = s1 if strided else out
            for k, name in enumerate(g.op_names):
                per_op[cell_type][e, k] += op_cost(name, c_curr, 2 if strided else 1,
                                                   *side)[1]
        reduction_prev = reduction
        c_pp, c_p = c_p, g.nodes * c_curr
        s0, s1 = s1, out
    base += c_p * g.num_classes
    return SupernetCost(int(base), per_op, counts)


def evaluation_cost(genotype, geometry: Geometry) -> tuple[int, int]:
    """`(multiply_adds, parameters)` of a genotype's evaluation network at the search
    network's own size: `geometry.cells` cells of `geometry.channels` initial channels on
    the search's images and classes (`child.cost.network_cost`, CIFAR stem, no auxiliary
    tower). GOLD-NAS' Pareto records compare cells at that size, not the retraining one
    (the evaluation stem is 3C wide whatever the search's stem multiplier).
    """
    cost = network_cost(genotype, geometry.num_classes, geometry.image_shape,
                        channels=geometry.channels, layers=geometry.cells)
    return cost["multiply_adds"], cost["parameters"]


def node_of_edge(nodes: int) -> np.ndarray:
    """The intermediate node (0 for node 2) each edge enters, in edge order."""
    return np.array([dst - 2 for _, dst in edge_endpoints(nodes)])


def node_normalized(weights, alive, nodes: int) -> np.ndarray:
    """GOLD-NAS' w~_o = w_o / S_j, S_j the sum of the alive weights entering node j.

    Args:
        weights: `(edges, ops)` op weights (the gates), 0 for pruned ops.
        alive: `(edges, ops)` 0/1 mask.
        nodes: intermediate nodes of the cell.

    Returns:
        `(edges, ops)` float64: 0 for pruned ops; a node's alive values sum to 1.
    """
    w = np.where(np.asarray(alive) > 0.5, np.asarray(weights, np.float64), 0.0)
    node = node_of_edge(nodes)
    totals = np.zeros(nodes)
    np.add.at(totals, node, w.sum(axis=1))
    per_edge = totals[node][:, None]
    return np.divide(w, per_edge, out=np.zeros_like(w), where=per_edge > 0)


def unofficial_log_penalty(gates, alive, nodes, flops, cells, r=1.0, mu=0.0, xi_min=0.01):
    """GOLD-NAS' resource term as the unofficial code writes it (METHODS 5(4)), one cell type.

    `C = sum_j sum_{alive o into j, w~_o > xi_min} log(1 + K_j w~_o) (cells r + mu F_o)`,
    K_j the alive ops entering node j and F_o the op's multiply-adds in millions summed over
    the cells of this type (`flops`), so the term counts every cell of the stack.

    Args:
        gates: `(edges, ops)` sigmoid(alpha).
        alive: `(edges, ops)` 0/1 mask.
        nodes: intermediate nodes.
        flops: `(edges, ops)` multiply-adds summed over the cells of this type.
        cells: how many cells of this type.
        r, mu: the uniform and the FLOPs-aware part of each op's price.
        xi_min: ops at or under it are left out (they are pruned at the epoch's end).

    Returns:
        The penalty, a float.
    """
    alive = np.asarray(alive) > 0.5
    w = node_normalized(gates, alive, nodes)
    k = np.zeros(nodes)
    np.add.at(k, node_of_edge(nodes), alive.sum(axis=1))
    k_edge = k[node_of_edge(nodes)][:, None]
    price = cells * r + mu * np.asarray(flops, np.float64) / MEGA
    counted = alive & (w > xi_min)
    return float(np.sum(np.where(counted, np.log1p(k_edge * w) * price, 0.0)))


def expected_flops_penalty(gates, alive, flops):
    """The plain reading of a FLOPs constraint: `sum_o sigmoid(alpha_o) F_o`, F_o in millions
    summed over the cells of the type (METHODS 5(4), inferred)."""
    alive = np.asarray(alive) > 0.5
    return float(np.sum(np.where(alive, np.asarray(gates, np.float64) *
                                 np.asarray(flops, np.float64) / MEGA, 0.0)))


def penalty(kind, gates, alive, nodes, flops, cells, r=1.0, mu=0.0, xi_min=0.01):
    """The resource term of `gold.penalty` `kind` for one cell type (see the two forms).

    Raises:
        ConfigError: an unknown kind.
    """
    if kind == "unofficial_log":
        return unofficial_log_penalty(gates, alive, nodes, flops, cells, r, mu, xi_min)
    if kind == "expected_flops":
        return expected_flops_penalty(gates, alive, flops)
    raise ConfigError(f"penalty must be 'unofficial_log' or 'expected_flops'. "
                      f"Received: penalty={kind!r}")
