"""GOLD-NAS (arXiv 2007.03331): sigmoid gates, one-level search, resource-paced pruning."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from asap_keras.errors import ConfigError
from asap_keras.search import derivation, resource, schedules
from asap_keras.search.methods.base import EpochSchedule, SearchMethod
from asap_keras.space import relaxation
from asap_keras.space.primitives import edge_endpoints, node_count


def controller(lam, dlam, pruned, n0, lambda0, c0):
    """GOLD-NAS' resource-weight update after an epoch that pruned `pruned` ops (METHODS 5(3)).

    If the epoch met the pace (`pruned >= n0`), the step restarts at `lambda0` and lambda is
    divided by `c0`; otherwise the step is multiplied by `c0` and added to lambda. So lambda
    grows geometrically until `n0` ops go in an epoch, then backs off. A step of 0 (a fresh
    state) reads as `lambda0`.

    Example: lambda0 = 1e-5, c0 = 2, n0 = 4, prune counts 0, 0, 0, 4, 0 give lambda
    2e-5, 6e-5, 1.4e-4, 7e-5, 9e-5.

    Returns:
        `(lambda, dlam)` after the epoch.
    """
    dlam = dlam if dlam > 0 else lambda0
    if pruned >= n0:
        return lam / c0, lambda0
    dlam = c0 * dlam
    return lam + dlam, dlam


def node_weights(state, nodes) -> dict:
    """w~ per cell type: each alive gate over the sum of the alive gates entering its node."""
    return {t: resource.node_normalized(relaxation.gate_weights(state["alpha"][t],
                                                                state["alive"][t]),
                                        state["alive"][t], nodes)
            for t in state["alpha"]}


def prune(gates, alive, nodes, xi_min, xi_max, n0, min_edges=1):
    """GOLD-NAS' epoch-end prune (unofficial code, METHODS 5(3)), over all cell types at once.

    (a) every alive op with w~ <= xi_min dies; (b) `n0` times over, the weakest alive op
    with w~ > xi_min, over every cell type, dies if its w~ <= xi_max (w~ recomputed after
    each death, so survivors' w~ only grow). The guard skips an op whose death would leave
    its node fewer than `min_edges` incoming edges with an alive op (1: a node never loses
    its last input; 2: a DARTS cell keeps two), and the next candidate is taken.

    Args:
        gates: cell type -> `(edges, ops)` sigmoid(alpha).
        alive: cell type -> `(edges, ops)` 0/1 mask.
        nodes: intermediate nodes per cell.
        xi_min, xi_max: the two thresholds on w~.
        n0: the most ops rule (b) removes.
        min_edges: live incoming edges every node keeps.

    Returns:
        `(new alive masks, ops removed by rule (b))`.
    """
    node = np.array([dst - 2 for _, dst in edge_endpoints(nodes)])
    keep = {t: np.asarray(a) > 0.5 for t, a in alive.items()}
    types = sorted(keep)

    def weights():
        return {t: resource.node_normalized(gates[t], keep[t], nodes) for t in types}

    w = weights()
    under = sorted((w[t][e, k], i, e, k) for i, t in enumerate(types)
                   for e, k in zip(*np.nonzero(keep[t] & (w[t] <= xi_min))))
    for _, i, e, k in under:
        if schedules.removable(keep[types[i]], e, node, min_edges):
            keep[types[i]][e, k] = False
    ranked = 0
    while ranked < n0:
        w = weights()
        candidates = sorted((w[t][e, k], i, e, k) for i, t in enumerate(types)
                            for e, k in zip(*np.nonzero(keep[t] & (w[t] > xi_min)))
                            if schedules.removable(keep[t], e, node, min_edges))
        if not candidates or candidates[0][0] > xi_max:
            break
        _, i, e, k = candidates[0]
        keep[types[i]][e, k] = False
        ranked += 1
    return keep, ranked


def _kept_ops(alive, w, xi_min, nodes):
    """The ops a free GOLD cell keeps: every alive op with w~ > xi_min (METHODS 5(5)).

    A node whose alive ops all sit at or under xi_min (possible only before the epoch's
    prune, with more than 1 / xi_min of them) keeps its strongest, so the cell stays whole.
    """
    alive = np.asarray(alive) > 0.5
    kept = alive & (w > xi_min)
    node = resource.node_of_edge(nodes)
    for j in range(nodes):
        rows = node == j
        if alive[rows].any() and not kept[rows].any():
            scores = np.where(alive & rows[:, None], w, -np.inf)
            kept[np.unravel_index(np.argmax(scores), scores.shape)] = True
    return kept


class Gold(SearchMethod):
    """GOLD-NAS as METHODS 5 reads it (unofficial code): gates, one level, a paced penalty.

    Each op's weight is its own gate sigmoid(alpha) (alphas start at 0: gates 0.5); one
    batch of the whole training set trains weights and alphas on cross-entropy + lambda * C.
    After each epoch `prune` runs and `controller` moves lambda (Variables, checkpointed);
    the search stops once the supernet's multiply-adds fall below `gold.flops_min`
    millions. The cell keeps every alive op with w~ > xi_min (`space.topology = "free"`),
    or DARTS' top-2 edges ranked by gate. The penalty's F_o needs `bind()`. Alphas are
    shared per cell type, so an "op" the prune counts (and n0 limits) is a (cell type,
    edge, op) entry, which stands for that op in every cell of the type.
    """

    name = "gold"
    levels = "one"
    relaxation = "sigmoid"
    records_pareto = True

    @property
    def table(self):
        return self.search.gold

    def epoch_schedule(self, epoch):
        del epoch  # theta: the largest w~ an op may die with, reported with each prune
        return EpochSchedule(temperature=1.0, threshold=self.table.xi_max, arch_steps=True)

    def extra_loss(self, arch, cell_types):
        """lambda * C(alpha): the resource term of `gold.penalty` over the given cell types
        (`resource.penalty` in TensorFlow), lambda read from its Variable."""
        if self.cost is None:
            raise ConfigError("search.method = 'gold' prices ops by their multiply-adds: "
                              "bind the supernet's geometry first. Received: no geometry")
        total = tf.constant(0.0)
        for cell_type in cell_types:
            total += self._penalty(arch, cell_type)
        return arch.resource_weight.value * total

    def _penalty(self, arch, cell_type):
        nodes = self.geometry.nodes
        node = resource.node_of_edge(nodes)
        incidence = tf.constant((node[None, :] == np.arange(nodes)[:, None]).astype("float32"))
        flops = tf.constant(self.cost.per_op[cell_type] / resource.MEGA, tf.float32)
        mask = arch.masks[cell_type].value
        gates = tf.sigmoid(arch.alphas[cell_type].value) * mask
        if self.table.penalty == "expected_flops":
            return tf.reduce_sum(gates * flops)
        per_edge = tf.transpose(incidence)  # (edges, nodes)
        totals = tf.linalg.matvec(per_edge, tf.linalg.matvec(incidence,
                                                             tf.reduce_sum(gates, axis=1)))
        counts = tf.linalg.matvec(per_edge, tf.linalg.matvec(incidence,
                                                             tf.reduce_sum(mask, axis=1)))
        w = tf.math.divide_no_nan(gates, totals[:, None])
        counted = tf.logical_and(mask > 0.5, tf.stop_gradient(w) > self.table.xi_min)
        price = self.cost.cells_of_type[cell_type] * self.table.r + self.table.mu * flops
        return tf.reduce_sum(tf.where(counted, tf.math.log1p(counts[:, None] * w) * price, 0.0))

    def epoch_end_masks(self, state, epoch, cell_types):
        del epoch
        gates = {t: relaxation.gate_weights(state["alpha"][t], state["alive"][t])
                 for t in cell_types}
        t = self.table
        keep, _ = prune(gates, {c: state["alive"][c] for c in cell_types},
                        self._nodes(state), t.xi_min, t.xi_max, t.n0,
                        schedules.min_live_edges(self.topology))
        changed = {c: keep[c] for c in cell_types
                   if not np.array_equal(keep[c], state["alive"][c])}
        return changed or None

    def prune_keys(self, state):
        return node_weights(state, self._nodes(state))

    def end_epoch(self, arch, epoch, pruned):
        del epoch
        t = self.table
        lam, dlam = controller(float(arch.resource_weight.numpy()),
                               float(arch.resource_step.numpy()), pruned, t.n0, t.lambda0, t.c0)
        arch.resource_weight.assign(lam)
        arch.resource_step.assign(dlam)

    def stop_reason(self, state, cell_types):
        del cell_types
        madds = self.supernet_madds(state)
        if self.table.flops_min > 0 and madds is not None:
            if madds < self.table.flops_min * resource.MEGA:
                return "flops_min"
        return None

    def epoch_fields(self, state):
        return {"lambda": state["resource_weight"]}

    def derive(self, state, op_names, nodes):
        gates = {t: relaxation.gate_weights(state["alpha"][t], state["alive"][t])
                 for t in state["alpha"]}
        if self.topology == "free":
            w = node_weights(state, nodes)
            kept = {t: _kept_ops(state["alive"][t], w[t], self.table.xi_min, nodes)
                    for t in w}
        else:
            kept = state["alive"]
        return derivation.derive(gates, kept, op_names, nodes, self.topology)

    @staticmethod
    def _nodes(state):
        return node_count(next(iter(state["alpha"].values())).shape[0])
