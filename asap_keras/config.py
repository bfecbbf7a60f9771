"""Frozen run configuration: one dataclass per TOML table, validated at load."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
import tomllib

from asap_keras.errors import ConfigError

DATA_SOURCES = ("digits", "tfds", "folder")
STRATEGIES = ("default", "mirrored")
METHODS = ("asap",)
ALPHA_INITS = ("zeros", "normal")


def _fail(path: str, rule: str, value: Any) -> None:
    key = path.rsplit(".", 1)[-1]
    raise ConfigError(f"{path} {rule}. Received: {key}={value!r}")


@dataclass(frozen=True)
class RunConfig:
    """`[run]`: naming, seeding and where run directories go."""

    name: str = "search"
    seed: int = 0
    runs_dir: str = "runs"

    def validate(self, prefix: str) -> None:
        if not self.name or any(c in self.name for c in "/\\ "):
            _fail(f"{prefix}.name", "must be a non-empty name without slashes or spaces",
                  self.name)
        if self.seed < 0:
            _fail(f"{prefix}.seed", "must be >= 0", self.seed)


@dataclass(frozen=True)
class DataConfig:
    """`[data]`: which images, how they are split and batched."""

    source: str = "digits"
    name: str = ""
    root: str = ""
    data_dir: str = ""
    image_size: int = 0
    batch_size: int = 64
    val_fraction: float = 0.1
    limit: int = 0
    augment: bool = False
    test_root: str = ""

    def validate(self, prefix: str) -> None:
        if self.source not in DATA_SOURCES:
            _fail(f"{prefix}.source", f"must be one of {DATA_SOURCES}", self.source)
        if self.source == "tfds" and not self.name:
            _fail(f"{prefix}.name", "must name a tensorflow-datasets dataset when "
                  "data.source='tfds'", self.name)
        if self.source == "folder" and not self.root:
            _fail(f"{prefix}.root", "must be an image folder when data.source='folder'",
                  self.root)
        if self.image_size < 0:
            _fail(f"{prefix}.image_size", "must be >= 0 (0 keeps the native size)",
                  self.image_size)
        if self.batch_size < 1:
            _fail(f"{prefix}.batch_size", "must be >= 1", self.batch_size)
        if not 0.0 <= self.val_fraction < 0.9:
            _fail(f"{prefix}.val_fraction", "must be in [0, 0.9)", self.val_fraction)
        if self.limit < 0:
            _fail(f"{prefix}.limit", "must be >= 0 (0 uses every example)", self.limit)
        if self.test_root and self.source != "folder":
            _fail(f"{prefix}.test_root", "is an image folder of test images and needs "
                  "data.source='folder'", self.test_root)


@dataclass(frozen=True)
class SpaceConfig:
    """`[space]`: the DARTS cell search space and the supernet built over it."""

    ops: str | tuple[str, ...] = "asap"
    cells: int = 8
    channels: int = 16
    nodes: int = 4
    stem_multiplier: int = 3

    def validate(self, prefix: str) -> None:
        from asap_keras.space.primitives import op_set

        op_set(self.ops)
        if self.cells < 1:
            _fail(f"{prefix}.cells", "must be >= 1", self.cells)
        if self.channels < 1:
            _fail(f"{prefix}.channels", "must be >= 1", self.channels)
        if self.nodes < 2:
            _fail(f"{prefix}.nodes", "must be >= 2 (the genotype keeps 2 edges per node)",
                  self.nodes)
        if self.stem_multiplier < 1:
            _fail(f"{prefix}.stem_multiplier", "must be >= 1", self.stem_multiplier)


@dataclass(frozen=True)
class AnnealConfig:
    """`[search.anneal]`: T = t0 * beta^epoch; architecture steps once T < grace.

    The default grace temperature 1.05 lies between T(5) = 1.006 and T(4) = 1.059 of the
    paper's schedule (t0 1.3, beta 0.95), so epochs 0-4 are its five grace epochs.
    """

    t0: float = 1.3
    beta: float = 0.95
    grace_temperature: float = 1.05

    def validate(self, prefix: str) -> None:
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
        if not 0 <= self.lr_min <= self.lr:
            _fail(f"{prefix}.lr_min", "must be in [0, lr]", self.lr_min)
        if not 0 <= self.momentum < 1:
            _fail(f"{prefix}.momentum", "must be in [0, 1)", self.momentum)
        if self.weight_decay < 0:
            _fail(f"{prefix}.weight_decay", "must be >= 0", self.weight_decay)
        if self.clipnorm <= 0:
            _fail(f"{prefix}.clipnorm", "must be > 0", self.clipnorm)


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
class SearchConfig:
    """`[search]`: the search loop, with its anneal, prune and optimizer tables."""

    method: str = "asap"
    epochs: int = 50
    log_every_steps: int = 10
    alpha_init: str = "zeros"
    alpha_init_scale: float = 1e-3
    anneal: AnnealConfig = field(default_factory=AnnealConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    weight_optimizer: WeightOptimizerConfig = field(default_factory=WeightOptimizerConfig)
    arch_optimizer: ArchOptimizerConfig = field(default_factory=ArchOptimizerConfig)

    def validate(self, prefix: str) -> None:
        if self.method not in METHODS:
            _fail(f"{prefix}.method", f"must be one of {METHODS}", self.method)
        if self.epochs < 1:
            _fail(f"{prefix}.epochs", "must be >= 1", self.epochs)
        if self.log_every_steps < 1:
            _fail(f"{prefix}.log_every_steps", "must be >= 1", self.log_every_steps)
        if self.alpha_init not in ALPHA_INITS:
            _fail(f"{prefix}.alpha_init", f"must be one of {ALPHA_INITS} (zeros: ASAP Alg. 1; "
                  "normal: alpha_init_scale * N(0, 1), as DARTS)", self.alpha_init)
        if not self.alpha_init_scale > 0:
            _fail(f"{prefix}.alpha_init_scale", "must be > 0", self.alpha_init_scale)

    @property
    def alpha_scale(self) -> float:
        """The standard deviation alphas start with (0: all zero)."""
        return self.alpha_init_scale if self.alpha_init == "normal" else 0.0


@dataclass(frozen=True)
class RuntimeConfig:
    """`[runtime]`: distribution strategy and determinism."""

    strategy: str = "default"
    deterministic: bool = True

    def validate(self, prefix: str) -> None:
        if self.strategy not in STRATEGIES:
            _fail(f"{prefix}.strategy", f"must be one of {STRATEGIES}", self.strategy)


@dataclass(frozen=True)
class Config:
    """A whole search configuration, as read from TOML."""

    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def validate(self, prefix: str = "") -> None:
        del prefix
        if self.data.test_root:  # a search must never see the held-out images
            _fail("data.test_root", "is read by `asap-keras train` only; a search never "
                  "touches test images", self.data.test_root)


def _build(cls: type, raw: Any, path: str) -> Any:
    """Builds dataclass `cls` from a TOML table, rejecting unknown keys and wrong types."""
    if not isinstance(raw, dict):
        _fail(path, "must be a table", raw)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            dotted = f"{path}.{key}" if path else key
            raise ConfigError(f"unknown config key {dotted!r}; known keys here: "
                              f"{sorted(known)}. Received: {key}={raw[key]!r}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        kwargs[f.name] = _coerce(hints[f.name], raw[f.name], dotted)
    obj = cls(**kwargs)
    obj.validate(path)
    return obj


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _coerce(kind: Any, value: Any, path: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, path)
    if kind is bool:
        if not isinstance(value, bool):
            _fail(path, "must be true or false", value)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "must be an integer", value)
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, "must be a number", value)
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            _fail(path, "must be a string", value)
        return value
    if typing.get_origin(kind) is tuple:  # tuple[str, ...] from a TOML array
        if not isinstance(value, (list, tuple)):
            _fail(path, "must be a list", value)
        (item_kind, _) = typing.get_args(kind)
        return tuple(_coerce(item_kind, item, f"{path}[{i}]") for i, item in enumerate(value))
    if isinstance(kind, types.UnionType):  # a scalar or a list, chosen by the value
        options = typing.get_args(kind)
        listed = [o for o in options if typing.get_origin(o) is tuple]
        if listed and isinstance(value, (list, tuple)):
            return _coerce(listed[0], value, path)
        for option in options:
            if option not in listed:
                try:
                    return _coerce(option, value, path)
                except ConfigError:
                    continue
        names = " or ".join(_KIND_NAMES.get(o, "a list") for o in options)
        _fail(path, f"must be {names}", value)
    raise TypeError(f"unsupported config field type {kind!r} at {path}")


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set expects KEY=VALUE with a dotted key. Received: {item!r}")
    key, text = item.split("=", 1)
    key = key.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word such as `digits` is taken as a string
    return key.split("."), value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Applies `a.b.c=value` overrides (TOML value syntax) onto a raw TOML dict."""
    for item in overrides:
        parts, value = _parse_override(item)
        table = raw
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is not a table")
        table[parts[-1]] = value
    return raw


def config_from_dict(raw: dict, schema: type = Config):
    """Builds and validates a `schema` config (default: search) from a plain dict."""
    return _build(schema, raw, "")


def load_config(path: str | Path, overrides: list[str] | None = None, schema: type = Config):
    """Reads a TOML config, applies `--set` overrides and validates it.

    Args:
        path: a TOML file.
        overrides: `dotted.key=value` strings, values in TOML syntax.
        schema: the top-level dataclass (`Config` for a search, `TrainConfig` to retrain).

    Returns:
        The frozen `Config`.

    Raises:
        ConfigError: the file is missing or malformed, or a key is unknown or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found. Received: path={str(path)!r}")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    _refuse_other_command(path, raw, schema)
    return config_from_dict(apply_overrides(raw, overrides or []), schema)


# Top-level tables that only one command reads: a config given to the other command
# gets told which command it belongs to instead of a bare "unknown key".
_COMMAND_OF_TABLE = {"search": "search", "space": "search", "train": "train", "model": "train"}


def _refuse_other_command(path: Path, raw: dict, schema: type) -> None:
    known = {f.name for f in dataclasses.fields(schema)}
    foreign = sorted(k for k in raw if k not in known and k in _COMMAND_OF_TABLE)
    if foreign:
        command = _COMMAND_OF_TABLE[foreign[0]]
        raise ConfigError(f"config file {str(path)!r} has table(s) {foreign} that belong to "
                          f"`asap-keras {command}`, not to this command. Received: "
                          f"top-level keys {sorted(raw)}")


def config_to_dict(config) -> dict:
    """The config as plain TOML-ready tables."""
    return dataclasses.asdict(config)


def dump_config(config) -> str:
    """The config as TOML text; `load_config` of it gives an equal config."""
    return tomli_w.dumps(config_to_dict(config))
