"""Pure schedules of the search: temperature annealing, grace, thresholds and pruning."""

from __future__ import annotations

import numpy as np

from asap_keras.errors import ConfigError


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
