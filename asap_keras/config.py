"""Frozen run configuration: one dataclass per TOML table, validated at load."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from asap_keras.errors import ConfigError, quote
from asap_keras.errors import fail_config as _fail
from asap_keras.search.config import SearchConfig, check_method_space

# "arrays": images passed to the Python API (`asap_keras.search(data=(x, y))`).
DATA_SOURCES = ("digits", "tfds", "folder", "arrays")
STREAM_MODES = ("auto", "always", "never")
STRATEGIES = ("default", "mirrored", "multi_worker")
# Keras dtype policies: variables stay float32; "mixed_*" computes in float16/bfloat16.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
MAX_NAME = 100  # run.name becomes a directory name
MAX_TEXT = 4096  # any config string, paths included (Linux PATH_MAX)

# Every int field carries `metadata={"range": (low, high)}` (and an optional "note"): its
# sane range, checked at load, so a value far outside what the code can use (a seed NumPy
# cannot take, a million cells) is refused naming its key, not deep inside TensorFlow.


@dataclass(frozen=True)
class RunConfig:
    """`[run]`: naming, seeding and where run directories go."""

    name: str = "search"
    seed: int = field(default=0, metadata={"range": (0, 2**32 - 1)})  # NumPy's seeds
    runs_dir: str = "runs"

    def validate(self, prefix: str) -> None:
        if not self.name or any(c in self.name for c in "/\\ "):
            _fail(f"{prefix}.name", "must be a non-empty name without slashes or spaces",
                  self.name)
        if len(self.name) > MAX_NAME:
            _fail(f"{prefix}.name", f"must be at most {MAX_NAME} characters (it names the run "
                  "directory)", self.name)
        if not self.name.isprintable():
            _fail(f"{prefix}.name", "must be printable (it names the run directory)",
                  self.name)


@dataclass(frozen=True)
class DataConfig:
    """`[data]`: which images, how they are split and batched."""

    source: str = "digits"
    name: str = ""
    root: str = ""
    data_dir: str = ""
    image_size: int = field(default=0, metadata={"range": (0, 8192),
                                                "note": "0 keeps the native size"})
    batch_size: int = field(default=64, metadata={"range": (1, 65536)})
    val_fraction: float = 0.1
    limit: int = field(default=0, metadata={"range": (0, 10**9),
                                          "note": "0 uses every example"})
    augment: bool = False
    test_root: str = ""
    download: bool = True
    split: str = "train"
    test_split: str = "test"
    # Image folders and tfds splits: "auto" reads them as batches are drawn (tf.data) when
    # their decoded images would take more than memory_mb; "always"; "never" (in memory).
    stream: str = "auto"
    memory_mb: int = field(default=2048, metadata={"range": (1, 10**8)})
    shuffle_block: int = field(default=4096, metadata={
        "range": (1, 10**8), "note": "examples a tfds stream is shuffled within"})

    def validate(self, prefix: str) -> None:
        if self.source not in DATA_SOURCES:
            _fail(f"{prefix}.source", f"must be one of {DATA_SOURCES}", self.source)
        if self.stream not in STREAM_MODES:
            _fail(f"{prefix}.stream", f"must be one of {STREAM_MODES}", self.stream)
        if self.stream == "always" and self.source not in ("folder", "tfds"):
            _fail(f"{prefix}.stream", "streams image folders and tensorflow-datasets only "
                  f"(data.source={self.source!r} is held in memory)", self.stream)
        if not 0.0 <= self.val_fraction < 0.9:
            _fail(f"{prefix}.val_fraction", "must be in [0, 0.9)", self.val_fraction)
        if self.source == "tfds" and not self.name:
            _fail(f"{prefix}.name", "must name a tensorflow-datasets dataset when "
                  "data.source='tfds'", self.name)
        if self.source == "folder" and not self.root:
            _fail(f"{prefix}.root", "must be an image folder when data.source='folder'",
                  self.root)
        if self.test_root and self.source != "folder":
            _fail(f"{prefix}.test_root", "is an image folder of test images and needs "
                  "data.source='folder'", self.test_root)
        for key, default in (("split", "train"), ("test_split", "test")):
            value = getattr(self, key)
            if not value.strip():
                _fail(f"{prefix}.{key}", "must name a tensorflow-datasets split (e.g. "
                      "'train', 'train[:90%]', 'validation')", value)
            if value != default and self.source != "tfds":
                _fail(f"{prefix}.{key}", "is a tensorflow-datasets split and needs "
                      "data.source='tfds'", value)


@dataclass(frozen=True)
class SpaceConfig:
    """`[space]`: the DARTS cell search space and the supernet built over it."""

    ops: str | tuple[str, ...] = "asap"
    cells: int = field(default=8, metadata={"range": (1, 100)})
    channels: int = field(default=16, metadata={"range": (1, 4096)})
    nodes: int = field(default=4, metadata={"range": (2, 16),
                                          "note": "the genotype keeps 2 edges per node"})
    stem_multiplier: int = field(default=3, metadata={"range": (1, 16)})
    # "darts": 2 edges per node, one op each; "free": any ops per edge and inputs per node.
    topology: str = "darts"

    def validate(self, prefix: str) -> None:
        from asap_keras.space.primitives import ALL_OPS, OP_SETS, op_set
        from asap_keras.space.topology import TOPOLOGIES

        if self.topology not in TOPOLOGIES:
            _fail(f"{prefix}.topology", f"must be one of {list(TOPOLOGIES)}", self.topology)
        # Unknown names first, here, so the message quotes one name, not a whole long list.
        if isinstance(self.ops, str):
            if self.ops not in OP_SETS:
                _fail(f"{prefix}.ops", f"must be one of {sorted(OP_SETS)} or a list of op "
                      "names", self.ops)
        else:
            for i, op in enumerate(self.ops):
                if op not in ALL_OPS:
                    _fail(f"{prefix}.ops[{i}]", "is not a known op; known ops: "
                          f"{', '.join(sorted(ALL_OPS))}", op)
            if len(self.ops) > len(ALL_OPS):  # all known, so one of them repeats
                _fail(f"{prefix}.ops", "lists an op twice", self.ops)
        op_set(self.ops)  # a repeated op, too few ops


@dataclass(frozen=True)
class RuntimeConfig:
    """`[runtime]`: distribution strategy, determinism, numeric precision and XLA.

    `precision` is the Keras dtype policy the models are built under; `jit_compile` is
    "auto" (XLA off without a GPU, Keras' own choice on one), true or false.
    """

    strategy: str = "default"
    deterministic: bool = True
    precision: str = "float32"
    jit_compile: str | bool = "auto"

    def validate(self, prefix: str) -> None:
        if self.strategy not in STRATEGIES:
            _fail(f"{prefix}.strategy", f"must be one of {STRATEGIES}", self.strategy)
        if self.precision not in PRECISIONS:
            _fail(f"{prefix}.precision", f"must be one of {PRECISIONS}", self.precision)
        if isinstance(self.jit_compile, str) and self.jit_compile != "auto":
            _fail(f"{prefix}.jit_compile", "must be 'auto', true or false", self.jit_compile)
        if self.jit_compile is True and self.deterministic:
            # Keras would turn XLA off with a warning: it refuses XLA under op determinism.
            _fail(f"{prefix}.jit_compile", f"cannot be true while {prefix}.deterministic is "
                  "true (Keras runs no XLA under op determinism); set deterministic = false",
                  self.jit_compile)


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
        check_method_space(self.search, self.space)  # topology, ops and keep vs the method
        if (self.search.method == "darts" and self.search.darts.order == 2
                and self.runtime.precision != "float32"):
            # w +- eps v moves each weight by ~1e-4 of itself: below float16/bfloat16's
            # resolution once a layer casts it, so the difference quotient is noise.
            _fail("runtime.precision", "must be 'float32' with search.darts.order = 2 (its "
                  "finite-difference Hessian-vector product perturbs the weights by 0.01 in "
                  "norm, which half-precision compute cannot resolve)", self.runtime.precision)


def _build(cls: type, raw: Any, path: str) -> Any:
    """Builds dataclass `cls` from a TOML table, rejecting unknown keys and wrong types.

    Each field is checked on its own first (type, finiteness, range), then `validate()`
    checks the table's rules, and cross-field rules last, so an error names the bad key.
    """
    if not isinstance(raw, dict):
        _fail(path or "config", "must be a table", raw)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            _refuse_unknown_key(key, raw[key], path, known)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        kwargs[f.name] = _coerce(hints[f.name], raw[f.name], dotted)
        if "range" in f.metadata:  # every int field has one: its sane [low, high]
            low, high = f.metadata["range"]
            if not low <= kwargs[f.name] <= high:
                note = f" ({f.metadata['note']})" if "note" in f.metadata else ""
                _fail(dotted, f"must be in [{low}, {high}]{note}", kwargs[f.name])
    obj = cls(**kwargs)
    obj.validate(path)
    return obj


def _refuse_unknown_key(key: Any, value: Any, path: str, known: set) -> None:
    # A key from the file can be anything TOML allows (quoted, huge, with newlines); both it
    # and its value are cut short so that the message, with the known keys, stays one line.
    plain = isinstance(key, str) and key.isidentifier() and len(key) <= 24
    shown = key if plain else quote(key, 24)
    dotted = f"{path}.{shown}" if path else shown
    raise ConfigError(f"unknown config key {dotted}; known keys here: "
                      f"{', '.join(sorted(known))}. Received: {shown}={quote(value, 40)}")


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
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            number = math.inf
        if not math.isfinite(number):  # TOML has nan and inf literals
            _fail(path, "must be a finite number", value)
        return number
    if kind is str:
        if not isinstance(value, str):
            _fail(path, "must be a string", value)
        if len(value) > MAX_TEXT:
            _fail(path, f"must be at most {MAX_TEXT} characters", value)
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
            _fail(path, "must not contain control characters", value)
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
        exact = [o for o in options if o not in listed and isinstance(value, o)]
        if exact:  # the value's own type, so its own error (too long, control characters)
            return _coerce(exact[0], value, path)
        for option in options:
            if option not in listed:
                try:
                    return _coerce(option, value, path)
                except ConfigError:
                    continue
        names = " or ".join(_KIND_NAMES.get(o, "a list") for o in options)
        _fail(path, f"must be {names}", value)
    raise TypeError(f"unsupported config field type {kind!r} at {path}")


_DOTTED_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_KEY = 64  # the longest real key, search.weight_optimizer.weight_decay, has 36


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "\n" in item or "\r" in item:  # TOML would read only the first line
        raise ConfigError(f"--set expects one line, KEY=VALUE. Received: {quote(item)}")
    if "=" not in item:
        raise ConfigError(f"--set expects KEY=VALUE with a dotted key. Received: {quote(item)}")
    key, text = item.split("=", 1)
    key, text = key.strip(), text.strip()
    if len(key) > _MAX_KEY or not _DOTTED_KEY.fullmatch(key):
        raise ConfigError(f"--set expects a dotted key of names (at most {_MAX_KEY} "
                          f"characters), such as search.anneal.beta. Received: key={quote(key)}")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as err:
        if text[:1] in ("'", '"', "[", "{"):  # meant as TOML, and malformed
            reason = re.sub(r" \(at line \d+, column \d+\)$", "", str(err))[:60]
            raise ConfigError(f"--set {key}: the value is not valid TOML ({reason}). "
                              f"Received: {key}={quote(text)}") from None
        value = text  # a bare word such as `digits` is taken as a string
    except (ValueError, RecursionError):  # an int of over 4300 digits; deep nesting
        raise ConfigError(f"--set {key}: the value is too large or too deeply nested. "
                          f"Received: {key}={quote(text)}") from None
    return key.split("."), value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Applies `a.b.c=value` overrides (TOML value syntax) onto a raw TOML dict.

    Raises:
        ConfigError: an override that is not one line of `dotted.key=value`, a value
            that is malformed TOML, or a key through a value that is not a table.
    """
    for item in overrides:
        parts, value = _parse_override(item)
        table = raw
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"--set {'.'.join(parts)}: {part} is not a table. "
                                  f"Received: {quote(item)}")
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
        ConfigError: the file is missing, unreadable, malformed or nested too deeply, an
            override is malformed, or a key is unknown or invalid; always one line.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(f"config file not found. Received: path={quote(str(path))}")
        data = path.read_bytes()
    except OSError as err:  # a name too long, no permission
        raise ConfigError(f"config file cannot be read ({err.strerror}). "
                          f"Received: path={quote(str(path))}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except ValueError as err:  # TOMLDecodeError, bad UTF-8, an int of over 4300 digits
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        reason = reason if len(reason) <= 120 else reason[:117] + "..."
        raise ConfigError(f"config file {quote(str(path))} is not valid TOML: "
                          f"{reason}") from None
    except RecursionError:
        raise ConfigError(f"config file {quote(str(path))} nests arrays or tables too "
                          "deeply to read") from None
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
        raise ConfigError(f"config file {quote(str(path), 60)} has table(s) {foreign} that belong "
                          f"to `asap-keras {command}`, not to this command. Received: "
                          f"top-level keys {quote(sorted(raw, key=str))}")


def config_to_dict(config) -> dict:
    """The config as plain TOML-ready tables."""
    return dataclasses.asdict(config)


def dump_config(config) -> str:
    """The config as TOML text; `load_config` of it gives an equal config."""
    return tomli_w.dumps(config_to_dict(config))
