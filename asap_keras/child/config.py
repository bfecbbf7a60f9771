"""The retraining run's TOML tables: `[model]`, `[train]` and `[train.augment]`."""

from __future__ import annotations

from dataclasses import dataclass, field

from asap_keras.config import DataConfig, RunConfig, RuntimeConfig, _fail
from asap_keras.errors import ConfigError
from asap_keras.search.config import MAX_EPOCHS

VARIANTS = ("cifar", "imagenet")
LR_SCHEDULES = ("power_cosine", "cosine_restarts")


@dataclass(frozen=True)
class ModelConfig:
    """`[model]`: the evaluation network stacked from the genotype's cells."""

    variant: str = "cifar"
    layers: int = field(default=20, metadata={"range": (3, 200),
                                             "note": "reductions sit at 1/3 and 2/3"})
    channels: int = field(default=36, metadata={"range": (2, 4096)})
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    drop_path: float = 0.2

    def validate(self, prefix: str) -> None:
        if self.variant not in VARIANTS:
            _fail(f"{prefix}.variant", f"must be one of {VARIANTS}", self.variant)
        if self.auxiliary_weight < 0:
            _fail(f"{prefix}.auxiliary_weight", "must be >= 0", self.auxiliary_weight)
        if not 0.0 <= self.drop_path < 1.0:
            _fail(f"{prefix}.drop_path", "must be in [0, 1)", self.drop_path)


@dataclass(frozen=True)
class AugmentConfig:
    """`[train.augment]`: each part of the paper's augmentation, switchable.

    The paper's recipe is crop and flip, AutoAugment's CIFAR-10 policy, then cutout;
    RandAugment is an alternative to AutoAugment, not an addition to it.
    """

    crop_flip: bool = True
    cutout: int = field(default=16, metadata={"range": (0, 8192),
                                             "note": "0 turns cutout off"})
    autoaugment: bool = True
    randaugment: bool = False
    randaugment_ops: int = field(default=2, metadata={"range": (1, 16)})
    randaugment_factor: float = 0.5

    def validate(self, prefix: str) -> None:
        if not 0.0 <= self.randaugment_factor <= 1.0:
            _fail(f"{prefix}.randaugment_factor", "must be in [0, 1]",
                  self.randaugment_factor)
        if self.autoaugment and self.randaugment:
            raise ConfigError(f"{prefix}.autoaugment and {prefix}.randaugment cannot both be "
                              "true (each is a whole augmentation policy; pick one). "
                              "Received: autoaugment=True, randaugment=True")


@dataclass(frozen=True)
class TrainingConfig:
    """`[train]`: SGD with Nesterov momentum on restarted annealing with decaying amplitude.

    `lr_schedule` is "power_cosine" (the paper's power cosine annealing, exponent order
    `lr_power`) or "cosine_restarts" (plain cosine, Keras' `CosineDecayRestarts`); both run
    `restarts` cycles over all epochs, each cycle's peak `restart_decay` times the last one's.
    """

    epochs: int = field(default=600, metadata={"range": (1, MAX_EPOCHS)})
    lr: float = 0.025
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    label_smoothing: float = 0.1
    restarts: int = field(default=5, metadata={"range": (1, 1000),
                                             "note": "1 is plain cosine decay"})
    restart_decay: float = 0.5
    lr_schedule: str = "power_cosine"
    lr_power: float = 10.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def validate(self, prefix: str) -> None:
        if self.lr <= 0:
            _fail(f"{prefix}.lr", "must be > 0", self.lr)
        if not 0.0 <= self.momentum < 1.0:
            _fail(f"{prefix}.momentum", "must be in [0, 1)", self.momentum)
        if self.weight_decay < 0:
            _fail(f"{prefix}.weight_decay", "must be >= 0", self.weight_decay)
        if self.grad_clip < 0:
            _fail(f"{prefix}.grad_clip", "must be >= 0 (0 turns clipping off)", self.grad_clip)
        if not 0.0 <= self.label_smoothing < 1.0:
            _fail(f"{prefix}.label_smoothing", "must be in [0, 1)", self.label_smoothing)
        if not 0.0 < self.restart_decay <= 1.0:
            _fail(f"{prefix}.restart_decay", "must be in (0, 1]", self.restart_decay)
        if self.lr_schedule not in LR_SCHEDULES:
            _fail(f"{prefix}.lr_schedule", f"must be one of {LR_SCHEDULES}", self.lr_schedule)
        if self.lr_power < 1.0:
            _fail(f"{prefix}.lr_power", "must be >= 1 (1 is plain cosine annealing)",
                  self.lr_power)


@dataclass(frozen=True)
class TrainConfig:
    """A whole retraining configuration, as read from TOML."""

    run: RunConfig = field(default_factory=lambda: RunConfig(name="train"))
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainingConfig = field(default_factory=TrainingConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def validate(self, prefix: str = "") -> None:
        del prefix
