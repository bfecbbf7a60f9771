"""The continuous relaxation: how alpha becomes op weights (softmax(alpha / T), Eq. 3, or not)."""

from __future__ import annotations

import numpy as np

from asap_keras.errors import ConfigError

# softmax: Phi = softmax(alpha / T) over an edge's alive ops (ASAP Eq. 3, DARTS);
# sigmoid: each op's own gate sigmoid(alpha) (GOLD-NAS); identity: alpha itself (NAP).
RELAXATIONS = ("softmax", "sigmoid", "identity")


def op_weights(alpha, temperature, alive=None):
    """Phi of every op: softmax(alpha / T) over the alive ops of each edge, 0 for pruned ones.

    ASAP Eq. 3. The last axis holds the candidate ops of one edge; leading axes are edges.

    Args:
        alpha: architecture parameters, shape `(..., ops)`.
        temperature: T > 0.
        alive: 0/1 (or bool) mask of the same shape; all ops alive if omitted. An edge with
            no alive op (removed by a final prune) weighs 0 everywhere.

    Returns:
        Float64 array of alpha's shape; each edge's alive weights sum to 1 (0 if none).

    Raises:
        ConfigError: T <= 0 or the shapes differ.

    Example:
    >>> op_weights([[0.0, 0.0, 0.0]], 1.0, [[1, 1, 0]])
    array([[0.5, 0.5, 0. ]])
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0. Received: temperature={temperature!r}")
    alive = np.ones(alpha.shape, bool) if alive is None else np.asarray(alive) > 0.5
    if alive.shape != alpha.shape:
        raise ConfigError(f"alive mask shape must match alpha {alpha.shape}. "
                          f"Received: alive.shape={alive.shape}")
    any_alive = alive.any(axis=-1, keepdims=True)
    logits = np.where(alive, alpha / temperature, -np.inf)
    logits = logits - np.where(any_alive, logits.max(axis=-1, keepdims=True), 0.0)
    expo = np.where(alive, np.exp(logits), 0.0)
    return expo / np.where(any_alive, expo.sum(axis=-1, keepdims=True), 1.0)


def log_full_weights(alpha, temperature):
    """log softmax(alpha / T) over all N candidates of each edge, alive or pruned (Eq. 3).

    The weight each op would have if no op had been pruned: pruned ops keep their last
    alpha, so an edge's surviving op still shows how clearly it beat its rivals. Computed in
    log space with each entry relative to its own logit, so a weight within 1e-16 of 1.0
    still differs from another (ranking decided edges must not see ties that are rounding).

    Args:
        alpha: architecture parameters, shape `(..., ops)`.
        temperature: T > 0.

    Returns:
        Float64 array of alpha's shape, every entry <= 0.

    Raises:
        ConfigError: T <= 0.

    Example:
    >>> np.exp(log_full_weights([[0.0, 0.0]], 1.0))
    array([[0.5, 0.5]])
    """
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0. Received: temperature={temperature!r}")
    z = np.asarray(alpha, dtype=np.float64) / temperature
    n = z.shape[-1]
    out = np.empty_like(z)
    for k in range(n):
        # log w_k = -log(1 + sum_{o != k} exp(z_o - z_k)), with log1p for w_k near 1.
        others = np.delete(z, k, axis=-1) - z[..., k:k + 1]
        if others.shape[-1] == 0:
            out[..., k] = 0.0
            continue
        top = others.max(axis=-1, keepdims=True)
        lse = top[..., 0] + np.log(np.exp(others - top).sum(axis=-1))
        out[..., k] = -np.logaddexp(0.0, lse)
    return out


def _alive_mask(alpha, alive):
    alive = np.ones(alpha.shape, bool) if alive is None else np.asarray(alive) > 0.5
    if alive.shape != alpha.shape:
        raise ConfigError(f"alive mask shape must match alpha {alpha.shape}. "
                          f"Received: alive.shape={alive.shape}")
    return alive


def gate_weights(alpha, alive=None):
    """GOLD-NAS' independent gates: sigmoid(alpha_o) for alive ops, 0 for pruned ones.

    Ops on an edge do not compete: d sigmoid(alpha_j) / d alpha_k = 0 for j != k, and an
    edge's weights need not sum to 1 (any number of its ops, zero included, can stay).

    Args:
        alpha: architecture parameters, shape `(..., ops)`.
        alive: 0/1 mask of the same shape; all ops alive if omitted.

    Returns:
        Float64 array of alpha's shape, in (0, 1) where alive.

    Raises:
        ConfigError: the shapes differ.

    Example:
    >>> gate_weights([[0.0, 0.0]], [[1, 0]])
    array([[0.5, 0. ]])
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    alive = _alive_mask(alpha, alive)
    # 1 / (1 + exp(-a)) written so that a large |a| neither overflows nor warns.
    gates = np.where(alpha >= 0, 1.0 / (1.0 + np.exp(-np.abs(alpha))),
                     np.exp(-np.abs(alpha)) / (1.0 + np.exp(-np.abs(alpha))))
    return np.where(alive, gates, 0.0)


def identity_weights(alpha, alive=None):
    """NAP's unnormalised strengths: alpha_o itself for alive ops, 0 for pruned ones.

    No softmax and no normalisation across ops or edges: changing alpha_k changes only
    op k's weight. The strength that ranks ops is |alpha_o|.

    Raises:
        ConfigError: the shapes differ.

    Example:
    >>> identity_weights([[0.5, -2.0]], [[1, 0]])
    array([[0.5, 0. ]])
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    return np.where(_alive_mask(alpha, alive), alpha, 0.0)


def weights(kind, alpha, temperature=1.0, alive=None):
    """Op weights under relaxation `kind` (one of `RELAXATIONS`); T is softmax's only.

    Raises:
        ConfigError: an unknown kind, T <= 0 (softmax), or shapes that differ.
    """
    if kind == "softmax":
        return op_weights(alpha, temperature, alive)
    if kind == "sigmoid":
        return gate_weights(alpha, alive)
    if kind == "identity":
        return identity_weights(alpha, alive)
    raise ConfigError(f"relaxation must be one of {RELAXATIONS}. Received: relaxation={kind!r}")


def state_weights(state: dict) -> dict:
    """Op weights per cell type of an architecture state `{'alpha', 'alive', 'temperature'}`
    under its `relaxation` (softmax when the state names none: Phi of Eq. 3)."""
    kind = state.get("relaxation", "softmax")
    return {t: weights(kind, state["alpha"][t], state["temperature"], state["alive"][t])
            for t in state["alpha"]}


def normalized_entropy(phi, candidates=None):
    """Entropy of each edge's op distribution divided by log(N): 1 uniform, 0 discrete.

    Args:
        phi: op weights, shape `(..., ops)`.
        candidates: N, the op count the entropy is normalised by (default: last axis size).

    Returns:
        Array of the leading shape of `phi`.
    """
    phi = np.asarray(phi, dtype=np.float64)
    n = phi.shape[-1] if candidates is None else candidates
    if n <= 1:
        return np.zeros(phi.shape[:-1])
    logs = np.log(np.where(phi > 0, phi, 1.0))
    return -(phi * logs).sum(axis=-1) / np.log(n)


def normalized_weight_entropy(w, candidates=None):
    """Entropy of each edge's |weights| divided by their sum, over log(N).

    For relaxations whose weights are not a distribution (sigmoid gates, raw alphas): the
    alive ops' |w| / sum |w| is, and this is `normalized_entropy` of it. An edge whose
    weights sum to 0 (every op pruned) has no such distribution: NaN.

    Args:
        w: op weights, shape `(..., ops)` (0 for pruned ops).
        candidates: N (default: last axis size).

    Returns:
        Array of the leading shape of `w`; NaN where an edge's |w| sums to 0.

    Example:
    >>> normalized_weight_entropy([[0.5, 0.5], [0.2, 0.0], [0.0, 0.0]])
    array([ 1.,  0., nan])
    """
    w = np.abs(np.asarray(w, dtype=np.float64))
    total = w.sum(axis=-1, keepdims=True)
    share = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    entropy = normalized_entropy(share, candidates)
    return np.where(total[..., 0] > 0, entropy, np.nan)
