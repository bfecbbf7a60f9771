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
from asap_keras.errors import fail_config as _fail
from asap_keras.search.config import SearchConfig

DATA_SOURCES = ("digits", "tfds", "folder")
STRATEGIES = ("default", "mirrored")


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
        from asap_keras.space.primitives import op_set

        candidates = len(op_set(self.space.ops))
        nu = self.search.anneal.pac.nu
        if nu * candidates > 1.0:
            _fail("search.anneal.pac.nu", f"must be <= 1/N = {1 / candidates:.4g} for the "
                  f"{candidates} candidate ops (rho_t is undefined otherwise)", nu)
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
