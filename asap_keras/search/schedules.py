"""Pure schedules of the search: temperature annealing, grace, thresholds and pruning."""

from __future__ import annotations

import numpy as np

from asap_keras.errors import ConfigError
from asap_keras.space.primitives import edge_endpoints


def temperature(epoch, t0, beta):
    """The annealed temperature T = t0 * beta^epoch (ASAP Sec. 3.2, exponential schedule).

    Raises:
        ConfigError: negative epoch, t0 <= 0, or beta outside (0, 1].
    """
    if epoch < 0:
        raise ConfigError(f"epoch must be >= 0. Received: epoch={epoch!r}")
    if not t0 > 0:
        raise ConfigError(f"t0 must be > 0. Received: t0={t0!r}")
    if not 0 < beta <= 1:
        raise ConfigError(f"beta must be in (0, 1]. Received: beta={beta!r}")
    return float(t0 * beta ** epoch)


def arch_steps_enabled(temp, grace_temperature):
    """Architecture steps run once T has dropped below the grace temperature."""
    return bool(temp < grace_temperature)


def grace_epochs(t0, beta, grace_temperature, cap=10_000):
    """Number of leading epochs with architecture steps off (T >= grace temperature)."""
    epoch = 0
    while epoch < cap and not arch_steps_enabled(temperature(epoch, t0, beta),
                                                 grace_temperature):
        epoch += 1
    return epoch


def threshold(candidates, factor=0.4):
    """The prune threshold theta = factor / N for an edge of N candidate ops (ASAP Sec. 3.3).

    N is the edge's original candidate count, not the number still alive: the threshold of
    an edge does not move as its ops die.

    Raises:
        ConfigError: N < 1 or factor outside [0, 1).
    """
    if candidates < 1:
        raise ConfigError(f"candidates must be >= 1. Received: candidates={candidates!r}")
    if not 0 <= factor < 1:
        raise ConfigError(f"factor must be in [0, 1). Received: factor={factor!r}")
    return factor / candidates


def prune(phi, alive, theta):
    """New alive mask: ops whose Phi < theta die; an edge never loses its last op.

    Args:
        phi: op weights `(edges, ops)` (0 for dead ops).
        alive: current 0/1 mask, same shape.
        theta: the threshold.

    Returns:
        Bool mask, a subset of `alive`. Where every alive op of an edge is under theta (it
        cannot happen with softmax weights, which sum to 1 > theta * N), the strongest stays.
    """
    phi = np.asarray(phi, dtype=np.float64)
    alive = np.asarray(alive) > 0.5
    keep = alive & (phi >= theta)
    lost_all = ~keep.any(axis=-1)
    if lost_all.any():
        strongest = np.argmax(np.where(alive, phi, -np.inf), axis=-1)
        rows = np.nonzero(lost_all)[0]
        keep[rows, strongest[rows]] = True
    return keep


def is_discrete(alive):
    """True when every edge keeps exactly one op (the search can stop)."""
    return bool(((np.asarray(alive) > 0.5).sum(axis=-1) == 1).all())


def zhu_gupta_sparsity(t, start, end, final_sparsity, power=3, initial_sparsity=0.0):
    """The gradual pruning target of Zhu and Gupta (2017), ASAP Eq. 13.

    `s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (E_f - t0))^p` for `t0 <= t <= E_f`; `s_i`
    before `t0` and `s_f` after `E_f`. With p = 1 the rate is constant, with p = 3 it falls.

    Args:
        t: the pruning step (here: epochs completed).
        start: t0, the last step with sparsity `s_i`.
        end: E_f, the step that reaches `s_f`.
        final_sparsity: s_f in [0, 1).
        power: p >= 1.
        initial_sparsity: s_i.

    Raises:
        ConfigError: end <= start, or sparsities or power out of range.
    """
    if not end > start:
        raise ConfigError(f"end must be > start. Received: start={start!r}, end={end!r}")
    if not 0 <= initial_sparsity <= final_sparsity < 1:
        raise ConfigError(f"sparsities must satisfy 0 <= initial <= final < 1. Received: "
                          f"initial_sparsity={initial_sparsity!r}, "
                          f"final_sparsity={final_sparsity!r}")
    if not power >= 1:
        raise ConfigError(f"power must be >= 1. Received: power={power!r}")
    if t <= start:
        return float(initial_sparsity)
    if t >= end:
        return float(final_sparsity)
    left = 1.0 - (t - start) / (end - start)
    return float(final_sparsity + (initial_sparsity - final_sparsity) * left ** power)


def zhu_gupta_count(t, start, end, final_sparsity, total, power=3):
    """How many of `total` ops are pruned once step `t` is done: `round(s_t * total)`."""
    return int(round(zhu_gupta_sparsity(t, start, end, final_sparsity, power) * total))


def prune_lowest(scores, alive, count):
    """New alive mask: the `count` alive ops of lowest score die, ranked over all edges.

    An op that is the last alive one on its edge is skipped and the next lowest is taken,
    so no edge loses its last op (fewer than `count` die if nothing else is left).

    Args:
        scores: `(edges, ops)` ranking key; lower dies first (ties: lower edge, then op).
        alive: 0/1 mask, same shape.
        count: ops to kill.

    Returns:
        Bool mask, a subset of `alive`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.asarray(alive) > 0.5
    left = keep.sum(axis=-1)
    candidates = [(scores[e, k], e, k) for e, k in zip(*np.nonzero(keep))]
    for _, e, k in sorted(candidates):
        if count <= 0:
            break
        if left[e] > 1:
            keep[e, k] = False
            left[e] -= 1
            count -= 1
    return keep


def pac_rho(t, candidates, nu, xp=np):
    """rho_t = t / (t + log(1 / (N nu_t))) of Theorem 2 (Eq. 8); 1 when nu = 1/N."""
    return t / (t + xp.log(1.0 / (candidates * nu)))


def pac_temperature_formula(t, candidates, eta_l, delta, nu, xp=np):
    """T_t = eta L rho_t sqrt((8 / t) log(pi^2 N t^2 / (3 delta))) (Theorem 2, Eq. 8).

    Written once for NumPy (`xp=np`) and for the step (`xp=tf.math`).
    """
    log_term = xp.log(np.pi ** 2 * candidates * t * t / (3.0 * delta))
    return eta_l * pac_rho(t, candidates, nu, xp) * xp.sqrt(8.0 / t * log_term)


def pac_threshold_formula(t, nu, xp=np):
    """theta_t = nu_t exp(-t) (Theorem 2, Eq. 7), for NumPy or the step (`xp=tf.math`)."""
    return nu * xp.exp(-t)


def pac_temperature(t, candidates, eta_l, delta, nu):
    """T_t of Theorem 2 (Eq. 8) at alpha update `t` (>= 1).

    Args:
        t: alpha updates since alpha training began (>= 1).
        candidates: N, ops of the mixed op.
        eta_l: the product eta * L (alpha step size times the gradient bound).
        delta: the failure probability of the PAC guarantee, in (0, 1).
        nu: nu_t > 0 with N * nu <= 1.

    Raises:
        ConfigError: t < 1 or constants out of range.
    """
    if t < 1:
        raise ConfigError(f"t counts alpha updates from 1. Received: t={t!r}")
    if not (eta_l > 0 and 0 < delta < 1 and 0 < nu <= 1.0 / candidates):
        raise ConfigError(f"PAC constants need eta_l > 0, delta in (0, 1), 0 < nu <= 1/N. "
                          f"Received: eta_l={eta_l!r}, delta={delta!r}, nu={nu!r}, "
                          f"N={candidates!r}")
    return float(pac_temperature_formula(float(t), candidates, eta_l, delta, nu))


def pac_threshold(t, nu):
    """theta_t = nu_t exp(-t) (Theorem 2, Eq. 7) at alpha update `t` (>= 1)."""
    if t < 1:
        raise ConfigError(f"t counts alpha updates from 1. Received: t={t!r}")
    return float(pac_threshold_formula(float(t), nu))


def min_live_edges(topology) -> int:
    """Edges with an alive op every node keeps: 2 for a DARTS cell, 1 for a free one."""
    return 2 if topology == "darts" else 1


def prune_lowest_per_node(scores, alive, count, nodes, min_edges=1):
    """New alive mask: the `count` alive ops of lowest score die, ranked over all edges,
    while every intermediate node keeps `min_edges` incoming edges with an alive op.

    The guard of methods whose edges may lose every op (NAP): an op is skipped, and the
    next lowest taken, when it is the last of its edge and its node would be left with
    fewer than `min_edges` such edges (1: a free cell's node keeps an input; 2: the DARTS
    cell's two). Fewer than `count` die if nothing else may go.

    Args:
        scores: `(edges, ops)` ranking key; lower dies first (ties: lower edge, then op).
        alive: 0/1 mask, same shape.
        count: ops to kill.
        nodes: intermediate nodes (edges in `primitives.edge_endpoints` order).
        min_edges: live incoming edges each node keeps (>= 1).

    Returns:
        Bool mask, a subset of `alive`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.asarray(alive) > 0.5
    node = np.array([dst - 2 for _, dst in edge_endpoints(nodes)])
    for _, e, k in sorted((scores[e, k], e, k) for e, k in zip(*np.nonzero(keep))):
        if count <= 0:
            break
        if removable(keep, e, node, min_edges):
            keep[e, k] = False
            count -= 1
    return keep


def removable(alive, edge, node_of_edge, min_edges) -> bool:
    """Whether one alive op of `edge` may die: its edge keeps another op, or its node keeps
    more than `min_edges` incoming edges with an alive op."""
    if alive[edge].sum() > 1:
        return True
    live = alive.any(axis=1)
    return int(live[node_of_edge == node_of_edge[edge]].sum()) > min_edges
