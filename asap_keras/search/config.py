"""The search's TOML tables: `[search]` with its anneal, prune, optimizer and method tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from asap_keras.errors import ConfigError
from asap_keras.errors import fail_config as _fail

MAX_EPOCHS = 100_000

METHODS = ("asap", "darts", "magnitude", "accum_grad")
ALPHA_INITS = ("zeros", "normal")
ANNEAL_SCHEDULES = ("exponential", "pac")
MAGNITUDE_KEYS = ("phi", "alpha")
ACCUM_MODES = ("sum_abs", "abs_sum")


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

    The step prunes (the op weighs 0 at once); its compute leaves the graph at the epoch's
    end, or sooner once the live ops fell by `rebuild_fraction` of those the step computes.
    """

    threshold_factor: float = 0.4
    rebuild_fraction: float = 0.3

    def validate(self, prefix: str) -> None:
        if not 0.0 <= self.threshold_factor < 1.0:
            _fail(f"{prefix}.threshold_factor", "must be in [0, 1)", self.threshold_factor)
        if not 0.0 < self.rebuild_fraction <= 1.0:
            _fail(f"{prefix}.rebuild_fraction", "must be in (0, 1] (1: rebuild only at "
                  "epoch ends)", self.rebuild_fraction)


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
    """`[search.arch_optimizer]`: Adam on the architecture parameters alpha."""

    lr: float = 3e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    weight_decay: float = 1e-3

    def validate(self, prefix: str) -> None:
        if self.lr <= 0:
            _fail(f"{prefix}.lr", "must be > 0", self.lr)
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                _fail(f"{prefix}.{name}", "must be in [0, 1)", value)
        if self.weight_decay < 0:
            _fail(f"{prefix}.weight_decay", "must be >= 0", self.weight_decay)


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

    def validate(self, prefix: str) -> None:
        if self.method not in METHODS:
            _fail(f"{prefix}.method", f"must be one of {METHODS}", self.method)
        if self.alpha_init not in ALPHA_INITS:
            _fail(f"{prefix}.alpha_init", f"must be one of {ALPHA_INITS} (zeros: ASAP Alg. 1; "
                  "normal: alpha_init_scale * N(0, 1), as DARTS)", self.alpha_init)
        if not self.alpha_init_scale > 0:
            _fail(f"{prefix}.alpha_init_scale", "must be > 0", self.alpha_init_scale)
        if self.method in ("magnitude", "accum_grad"):  # the cross-field rule last
            table = getattr(self, self.method)
            start, end = table.epochs_of(self.epochs)
            if not start < end <= self.epochs:
                raise ConfigError(
                    f"{prefix}.{self.method} prunes from epoch start_epoch to final_epoch, "
                    f"which must satisfy start_epoch < final_epoch <= {prefix}.epochs "
                    f"({self.epochs}). Received: start_epoch={start}, final_epoch={end}")

    @property
    def alpha_scale(self) -> float:
        """The standard deviation alphas start with (0: all zero)."""
        return self.alpha_init_scale if self.alpha_init == "normal" else 0.0
