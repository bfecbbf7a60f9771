"""The search's TOML tables: `[search]` with its anneal, prune, optimizer and method tables."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from asap_keras.errors import ConfigError
from asap_keras.errors import fail_config as _fail
from asap_keras.search.rebuild import RULES as REBUILD_RULES

MAX_EPOCHS = 100_000

METHODS = ("asap", "darts", "magnitude", "accum_grad", "gold", "nap")
# Methods that derive a free cell when `space.topology = "free"` (the others: DARTS only).
FREE_TOPOLOGY_METHODS = ("gold", "nap")
ALPHA_INITS = ("zeros", "normal")
ANNEAL_SCHEDULES = ("exponential", "pac")
MAGNITUDE_KEYS = ("phi", "alpha")
ACCUM_MODES = ("sum_abs", "abs_sum")
GOLD_PENALTIES = ("unofficial_log", "expected_flops")
LEVELS = ("two", "one")
AUTO = "auto"
ARCH_OPTIMIZERS = (AUTO, "adam", "sgd")
# What `auto` resolves to: the method's optimizer kind (Adam, as DARTS, unless listed) and
# that kind's learning rate and weight decay (Adam: DARTS' 3e-4 and 1e-3; SGD: GOLD-NAS'
# unofficial 1.0 and 0).
METHOD_ARCH_OPTIMIZER = {"gold": "sgd"}
ARCH_OPTIMIZER_DEFAULTS = {"adam": {"lr": 3e-4, "weight_decay": 1e-3},
                           "sgd": {"lr": 1.0, "weight_decay": 0.0}}


@dataclass(frozen=True)
class PacConfig:
    """`[search.anneal.pac]`: Theorem 2's constants (Eqs. 7-8), for `schedule = "pac"`.

    `T_t = eta_l * rho_t * sqrt((8 / t) log(pi^2 N t^2 / (3 delta)))` and
    `theta_t = nu * exp(-t)`, t counting alpha updates from 1.
    """

    eta_l: float = 0.0
    delta: float = 0.05
    nu: float = 0.0

    def validate(self, prefix: str) -> None:
        if self.eta_l < 0:
            _fail(f"{prefix}.eta_l", "must be >= 0 (0: the architecture learning rate, as "
                  "eta * L for Adam)", self.eta_l)
        if not 0.0 < self.delta < 1.0:
            _fail(f"{prefix}.delta", "must be in (0, 1)", self.delta)
        if self.nu < 0:
            _fail(f"{prefix}.nu", "must be >= 0 (0: 1/N, so rho_t = 1)", self.nu)


@dataclass(frozen=True)
class AnnealConfig:
    """`[search.anneal]`: T = t0 * beta^epoch; architecture steps once T < grace.

    The default grace temperature 1.05 lies between T(5) = 1.006 and T(4) = 1.059 of the
    paper's schedule (t0 1.3, beta 0.95), so epochs 0-4 are its five grace epochs.
    """

    t0: float = 1.3
    beta: float = 0.95
    grace_temperature: float = 1.05
    schedule: str = "exponential"
    pac: PacConfig = field(default_factory=PacConfig)

    def validate(self, prefix: str) -> None:
        if self.schedule not in ANNEAL_SCHEDULES:
            _fail(f"{prefix}.schedule", f"must be one of {ANNEAL_SCHEDULES}", self.schedule)
        if self.t0 <= 0:
            _fail(f"{prefix}.t0", "must be > 0", self.t0)
        if not 0.0 < self.beta <= 1.0:
            _fail(f"{prefix}.beta", "must be in (0, 1]", self.beta)
        if self.grace_temperature <= 0:
            _fail(f"{prefix}.grace_temperature", "must be > 0", self.grace_temperature)


@dataclass(frozen=True)
class PruneConfig:
    """`[search.prune]`: an op dies once Phi < factor / N (N candidates on its edge).

    The step prunes (the op weighs 0 at once); its compute leaves the graph at a rebuild of
    the step. `rebuild = "epoch"` rebuilds at the epoch's end, or sooner once the live ops
    fell by `rebuild_fraction` of those the step computes. `"cost"` rebuilds once the
    op-steps wasted on dead ops since the last rebuild reach `rebuild_cost_ratio` times the
    live ops (`search/rebuild.py`: the ratio is a rebuild's trace time per op over a step's
    time per op). Both rules follow from the masks alone: runs stay bit-for-bit reproducible.
    """

    threshold_factor: float = 0.4
    rebuild: str = "epoch"
    rebuild_fraction: float = 0.3
    rebuild_cost_ratio: float = 30.0

    def validate(self, prefix: str) -> None:
        if not 0.0 <= self.threshold_factor < 1.0:
            _fail(f"{prefix}.threshold_factor", "must be in [0, 1)", self.threshold_factor)
        if self.rebuild not in REBUILD_RULES:
            _fail(f"{prefix}.rebuild", f"must be one of {', '.join(REBUILD_RULES)}",
                  self.rebuild)
        if not 0.0 < self.rebuild_fraction <= 1.0:
            _fail(f"{prefix}.rebuild_fraction", "must be in (0, 1] (1: rebuild only at "
                  "epoch ends)", self.rebuild_fraction)
        if not 0.0 < self.rebuild_cost_ratio < math.inf:
            _fail(f"{prefix}.rebuild_cost_ratio", "must be a finite number > 0 (a rebuild's "
                  "cost per live op, in steps of one op)", self.rebuild_cost_ratio)


@dataclass(frozen=True)
class WeightOptimizerConfig:
    """`[search.weight_optimizer]`: SGD with momentum on the network weights."""

    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    clipnorm: float = 5.0

    def validate(self, prefix: str) -> None:
        if self.lr <= 0:
            _fail(f"{prefix}.lr", "must be > 0", self.lr)
        if self.lr_min < 0:
            _fail(f"{prefix}.lr_min", "must be in [0, lr]", self.lr_min)
        if not 0 <= self.momentum < 1:
            _fail(f"{prefix}.momentum", "must be in [0, 1)", self.momentum)
        if self.weight_decay < 0:
            _fail(f"{prefix}.weight_decay", "must be >= 0", self.weight_decay)
        if self.clipnorm <= 0:
            _fail(f"{prefix}.clipnorm", "must be > 0", self.clipnorm)
        if self.lr_min > self.lr:  # the cross-field rule last: each field is fine alone
            _fail(f"{prefix}.lr_min", f"must be in [0, lr] (lr = {self.lr:g})", self.lr_min)


@dataclass(frozen=True)
class ArchOptimizerConfig:
    """`[search.arch_optimizer]`: the optimizer of the architecture parameters alpha.

    `kind = "auto"` takes the method's: Adam (DARTS' betas (0.5, 0.999)) for every method
    but GOLD-NAS, which uses SGD with momentum (METHODS 5(2)). `lr` and `weight_decay` left
    at "auto" take that kind's defaults (Adam: 3e-4 and 1e-3; SGD: 1.0 and 0). `SearchConfig`
    resolves every "auto", so a resolved config holds the numbers a run used. `beta_1` and
    `beta_2` are Adam's, `momentum` SGD's; weight decay is the coupled L2 term DARTS adds
    to the alpha gradients.
    """

    kind: str = AUTO
    lr: float | str = AUTO
    beta_1: float = 0.5
    beta_2: float = 0.999
    momentum: float = 0.9
    weight_decay: float | str = AUTO

    def validate(self, prefix: str) -> None:
        if self.kind not in ARCH_OPTIMIZERS:
            _fail(f"{prefix}.kind", f"must be one of {ARCH_OPTIMIZERS}", self.kind)
        if self.lr != AUTO and (isinstance(self.lr, str) or self.lr <= 0):
            _fail(f"{prefix}.lr", "must be > 0, or \"auto\" (the optimizer's default)",
                  self.lr)
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                _fail(f"{prefix}.{name}", "must be in [0, 1)", value)
        if not 0 <= self.momentum < 1:
            _fail(f"{prefix}.momentum", "must be in [0, 1)", self.momentum)
        if self.weight_decay != AUTO and (isinstance(self.weight_decay, str)
                                          or self.weight_decay < 0):
            _fail(f"{prefix}.weight_decay", "must be >= 0, or \"auto\" (the optimizer's "
                  "default)", self.weight_decay)

    def resolved(self, method: str) -> ArchOptimizerConfig:
        """The table with every "auto" replaced by the value `method` uses."""
        kind = METHOD_ARCH_OPTIMIZER.get(method, "adam") if self.kind == AUTO else self.kind
        defaults = ARCH_OPTIMIZER_DEFAULTS.get(kind, ARCH_OPTIMIZER_DEFAULTS["adam"])
        return replace(self, kind=kind,
                       lr=defaults["lr"] if self.lr == AUTO else self.lr,
                       weight_decay=(defaults["weight_decay"] if self.weight_decay == AUTO
                                     else self.weight_decay))


@dataclass(frozen=True)
class DartsConfig:
    """`[search.darts]`: DARTS' architecture gradient (T = 1, no pruning, one final prune)."""

    order: int = field(default=1, metadata={
        "range": (1, 2), "note": "1: first order; 2: unrolled, xi = the weight learning rate"})

    def validate(self, prefix: str) -> None:
        del prefix  # `order`'s range, checked at load, is the only rule


@dataclass(frozen=True)
class ZhuGuptaConfig:
    """The gradual pruning schedule of ASAP Sec. 4.4 (Eq. 13), in epochs.

    After `t` epochs, `round(s_t * M)` of the M ops of a cell type are pruned. -1 picks the
    paper's proportions: start at 40% of `search.epochs` (t0 = 20 of 50), end at the last
    epoch; `final_sparsity` 0 leaves one op per edge at the end (1 - 1/N).
    """

    start_epoch: int = field(default=-1, metadata={"range": (-1, MAX_EPOCHS),
                                                  "note": "-1: 40% of search.epochs"})
    final_epoch: int = field(default=-1, metadata={"range": (-1, MAX_EPOCHS),
                                                  "note": "-1: search.epochs"})
    power: int = field(default=3, metadata={"range": (1, 10),
                                            "note": "the paper uses 1 and 3"})
    final_sparsity: float = 0.0

    def validate(self, prefix: str) -> None:
        if self.final_epoch == 0:
            _fail(f"{prefix}.final_epoch", "must be >= 1, or -1 for search.epochs",
                  self.final_epoch)
        if not 0.0 <= self.final_sparsity < 1.0:
            _fail(f"{prefix}.final_sparsity", "must be in [0, 1) (0: one op per edge)",
                  self.final_sparsity)

    def epochs_of(self, epochs: int) -> tuple[int, int]:
        """`(t0, E_f)` for a search of `epochs` epochs."""
        start = round(0.4 * epochs) if self.start_epoch == -1 else self.start_epoch
        end = epochs if self.final_epoch == -1 else self.final_epoch
        return start, end


@dataclass(frozen=True)
class MagnitudeConfig(ZhuGuptaConfig):
    """`[search.magnitude]`: prune the ops of lowest weight (`phi`, or raw `alpha`)."""

    key: str = "phi"

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if self.key not in MAGNITUDE_KEYS:
            _fail(f"{prefix}.key", f"must be one of {MAGNITUDE_KEYS}", self.key)


@dataclass(frozen=True)
class AccumGradConfig(ZhuGuptaConfig):
    """`[search.accum_grad]`: prune the ops of lowest accumulated |dL/dalpha|.

    `sum_abs` ranks by sum_t |g_t| (ASAP's wording), `abs_sum` by |sum_t g_t| (Dropback's).
    """

    mode: str = "sum_abs"

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if self.mode not in ACCUM_MODES:
            _fail(f"{prefix}.mode", f"must be one of {ACCUM_MODES}", self.mode)


@dataclass(frozen=True)
class GoldConfig:
    """`[search.gold]`: GOLD-NAS (arXiv 2007.03331), as METHODS 5 reads it (unofficial code).

    Independent sigmoid gates, one-level search, and after each epoch: every op with
    node-normalised weight w~ <= xi_min dies, then up to n0 of the weakest with
    w~ <= xi_max; lambda, the weight of the resource term, grows by dlam (doubled each
    epoch) until an epoch prunes n0, then halves. The search stops once the supernet's
    multiply-adds fall below `flops_min` millions (0: never).
    """

    n0: int = field(default=4, metadata={"range": (1, 10**6),
                                         "note": "ops pruned by rank per epoch at most"})
    lambda0: float = 1e-5
    c0: float = 2.0
    xi_min: float = 0.01
    xi_max: float = 0.05
    mu: float = 0.0
    r: float = 1.0
    penalty: str = "unofficial_log"
    flops_min: float = 0.0
    t_stable: int = field(default=3, metadata={"range": (0, MAX_EPOCHS),
                                               "note": "epochs without a prune"})

    def validate(self, prefix: str) -> None:
        if self.penalty not in GOLD_PENALTIES:
            _fail(f"{prefix}.penalty", f"must be one of {GOLD_PENALTIES}", self.penalty)
        if not self.lambda0 > 0:
            _fail(f"{prefix}.lambda0", "must be > 0", self.lambda0)
        if not self.c0 > 1:
            _fail(f"{prefix}.c0", "must be > 1", self.c0)
        if not 0 <= self.xi_min < 1:
            _fail(f"{prefix}.xi_min", "must be in [0, 1)", self.xi_min)
        for name in ("mu", "r", "flops_min"):
            if getattr(self, name) < 0:
                _fail(f"{prefix}.{name}", "must be >= 0", getattr(self, name))
        if not self.xi_min <= self.xi_max < 1:  # the cross-field rule last
            _fail(f"{prefix}.xi_max", f"must be in [xi_min, 1) (xi_min = {self.xi_min:g})",
                  self.xi_max)


@dataclass(frozen=True)
class NapConfig:
    """`[search.nap]`: NAP (Neurocomputing 2022), as METHODS 6 reconstructs it (inferred).

    Unnormalised op weights (alpha itself, starting at 1/N), DARTS first order; from
    `prune_start` the ops of lowest |alpha| die, ranked over the whole cell type, on the
    Zhu-Gupta schedule (power p) until `keep` ops per cell type remain at `final_epoch`.
    The derived cell keeps at most one op per edge (its largest |alpha|) unless
    `multi_op_edges`. `levels = "one"` trains alpha and the weights on one batch instead.
    """

    prune_start: int = field(default=-1, metadata={"range": (-1, MAX_EPOCHS),
                                                   "note": "-1: half of search.epochs"})
    final_epoch: int = field(default=-1, metadata={"range": (-1, MAX_EPOCHS),
                                                   "note": "-1: search.epochs"})
    power: int = field(default=3, metadata={"range": (1, 10)})
    keep: int = field(default=8, metadata={"range": (1, 10**4),
                                           "note": "8 is the DARTS cell's op count"})
    multi_op_edges: bool = False
    levels: str = "two"

    def validate(self, prefix: str) -> None:
        if self.levels not in LEVELS:
            _fail(f"{prefix}.levels", f"must be one of {LEVELS}", self.levels)
        if self.final_epoch == 0:
            _fail(f"{prefix}.final_epoch", "must be >= 1, or -1 for search.epochs",
                  self.final_epoch)

    def epochs_of(self, epochs: int) -> tuple[int, int]:
        """`(t0, E_f)` of the pruning schedule for a search of `epochs` epochs."""
        start = epochs // 2 if self.prune_start == -1 else self.prune_start
        end = epochs if self.final_epoch == -1 else self.final_epoch
        return start, end


@dataclass(frozen=True)
class SearchConfig:
    """`[search]`: the search loop, with its anneal, prune and optimizer tables."""

    method: str = "asap"
    epochs: int = field(default=50, metadata={"range": (1, MAX_EPOCHS)})
    log_every_steps: int = field(default=10, metadata={"range": (1, 10**6)})
    alpha_init: str = "zeros"
    alpha_init_scale: float = 1e-3
    anneal: AnnealConfig = field(default_factory=AnnealConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    weight_optimizer: WeightOptimizerConfig = field(default_factory=WeightOptimizerConfig)
    arch_optimizer: ArchOptimizerConfig = field(default_factory=ArchOptimizerConfig)
    darts: DartsConfig = field(default_factory=DartsConfig)
    magnitude: MagnitudeConfig = field(default_factory=MagnitudeConfig)
    accum_grad: AccumGradConfig = field(default_factory=AccumGradConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    nap: NapConfig = field(default_factory=NapConfig)

    def __post_init__(self):
        # Every "auto" of the alpha optimizer becomes the method's value, so the resolved
        # config (written into the run directory) holds the numbers the run used.
        object.__setattr__(self, "arch_optimizer", self.arch_optimizer.resolved(self.method))

    def validate(self, prefix: str) -> None:
        if self.method not in METHODS:
            _fail(f"{prefix}.method", f"must be one of {METHODS}", self.method)
        if self.alpha_init not in ALPHA_INITS:
            _fail(f"{prefix}.alpha_init", f"must be one of {ALPHA_INITS} (zeros: ASAP Alg. 1; "
                  "normal: alpha_init_scale * N(0, 1), as DARTS)", self.alpha_init)
        if not self.alpha_init_scale > 0:
            _fail(f"{prefix}.alpha_init_scale", "must be > 0", self.alpha_init_scale)
        if self.method in ("magnitude", "accum_grad", "nap"):  # the cross-field rule last
            table = getattr(self, self.method)
            start, end = table.epochs_of(self.epochs)
            first = "prune_start" if self.method == "nap" else "start_epoch"
            if not start < end <= self.epochs:
                raise ConfigError(
                    f"{prefix}.{self.method} prunes from epoch {first} to final_epoch, "
                    f"which must satisfy {first} < final_epoch <= {prefix}.epochs "
                    f"({self.epochs}). Received: {first}={start}, final_epoch={end}")

    @property
    def alpha_scale(self) -> float:
        """The standard deviation alphas start with (0: all zero)."""
        return self.alpha_init_scale if self.alpha_init == "normal" else 0.0


def check_method_space(search: SearchConfig, space) -> None:
    """The rules between `[search]` and `[space]` (called by `Config.validate`).

    A free topology needs a method that derives free cells (gold, nap); gold and nap have
    no `none` op (its weight changes nothing under their relaxations); NAP's `keep` must
    leave every node an input (free: 1 op per node; darts: 2 edges per node) and be at most
    the cell type's op count.

    Raises:
        ConfigError: naming both keys.
    """
    from asap_keras.space.primitives import NONE, edge_count, op_set

    topology = getattr(space, "topology", "darts")
    method = search.method
    if topology == "free" and method not in FREE_TOPOLOGY_METHODS:
        raise ConfigError(f"space.topology = 'free' needs a search.method that derives free "
                          f"cells {FREE_TOPOLOGY_METHODS}. Received: topology={topology!r}, "
                          f"method={method!r}")
    if method not in FREE_TOPOLOGY_METHODS:
        return
    ops = op_set(space.ops)
    if NONE in ops:
        raise ConfigError(f"search.method = {method!r} has no 'none' op; remove it from "
                          f"space.ops. Received: method={method!r}, ops={list(ops)!r}")
    if method == "nap":
        fewest = space.nodes * (1 if topology == "free" else 2)
        most = edge_count(space.nodes) * len(ops)
        if not fewest <= search.nap.keep <= most:
            raise ConfigError(
                f"search.nap.keep must be in [{fewest}, {most}] for space.nodes = "
                f"{space.nodes}, {len(ops)} ops and space.topology = {topology!r} (every "
                f"node keeps {'1 op' if topology == 'free' else '2 edges'}). "
                f"Received: keep={search.nap.keep}")
