"""Property tests of the config loader: any input loads or is refused in one ConfigError line."""

import copy
import dataclasses
import typing

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asap_keras.child import config as child_config
from asap_keras.child.config import TrainConfig
from asap_keras.config import (
    DATA_SOURCES,
    PRECISIONS,
    STRATEGIES,
    Config,
    apply_overrides,
    config_from_dict,
    dump_config,
    load_config,
)
from asap_keras.errors import ConfigError
from asap_keras.search import config as search_config
from asap_keras.space.primitives import ALL_OPS

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SCHEMAS = {"search": Config, "train": TrainConfig}

# The values a string field chooses from; other strings are paths or names.
CHOICES = {"source": DATA_SOURCES, "strategy": STRATEGIES, "precision": PRECISIONS,
           "method": search_config.METHODS,
           "alpha_init": search_config.ALPHA_INITS, "schedule": search_config.ANNEAL_SCHEDULES,
           "key": search_config.MAGNITUDE_KEYS, "mode": search_config.ACCUM_MODES,
           "variant": child_config.VARIANTS, "lr_schedule": child_config.LR_SCHEDULES}
ALL_CHOICES = sorted({c for choices in CHOICES.values() for c in choices})
SAFE_TEXT = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S"),
                                  exclude_characters="/\\"), min_size=1, max_size=30)
NASTY_STRINGS = ["", "x" * 5000, "a\x00b", "a\nb", "a/b", "a b", "\u2028", "é" * 101]
NASTY_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324, 2**32,
                 2**63, -2**63, 10**400, -1, 0, True]
HUGE_INT = st.builds(pow, st.just(10), st.just(5000))  # too long for repr, so built lazily
FLOATS = st.sampled_from([1e-3, 0.05, 0.1, 0.3, 0.5])


def _leaves(schema, prefix=()):
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _leaves(hints[f.name], (*prefix, f.name))
        else:
            yield (*prefix, f.name), hints[f.name], f


def _good(kind, f):
    """Values a field usually takes alone (cross-field rules may still refuse them)."""
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(*f.metadata["range"])
    if kind is float:
        return st.just(f.default) | FLOATS
    if f.name == "jit_compile":
        return st.sampled_from(["auto", True, False])
    if f.name == "ops":
        return st.sampled_from(["asap", "darts"]) | st.lists(
            st.sampled_from(sorted(ALL_OPS)), min_size=2, max_size=8, unique=True)
    if f.name in CHOICES:
        return st.sampled_from(CHOICES[f.name])
    return st.just(f.default) | SAFE_TEXT  # "" is often the only value that fits


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(NASTY_STRINGS + NASTY_NUMBERS + ALL_CHOICES) | HUGE_INT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=3),
    max_leaves=10)


@st.composite
def raw_configs(draw, schema):
    """A raw TOML dict for `schema`: mostly good values, some bad ones, unknown keys."""
    bad_percent = draw(st.sampled_from([0, 0, 2, 10, 50]))
    raw: dict = {}
    for path, kind, f in _leaves(schema):
        if draw(st.integers(0, 2)) == 0:
            continue
        bad = draw(st.integers(0, 99)) < bad_percent
        value = draw(ANYTHING if bad else _good(kind, f))
        table = raw
        for part in path[:-1]:
            table = table.setdefault(part, {})
        table[path[-1]] = value
    if draw(st.integers(0, 99)) < bad_percent:  # an unknown key, or a table made a scalar
        table = raw
        for part in draw(st.lists(st.sampled_from(["search", "run", "anneal", "x"]),
                                  max_size=3)):
            table = table.setdefault(part, {}) if isinstance(table, dict) else {}
        table[draw(st.text(max_size=40) | st.sampled_from(["run", "seed", "k" * 100]))] = (
            draw(ANYTHING))
    return raw


def _check_refusal(err: ConfigError) -> None:
    message = str(err)
    assert message and len(message.splitlines()) == 1 and len(message) <= 300, message


def _load_or_refuse(build):
    try:
        return build()
    except ConfigError as err:
        _check_refusal(err)
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "c.toml"


def _round_trips(cfg, schema, scratch):
    scratch.write_text(dump_config(cfg), encoding="utf-8")
    assert load_config(scratch, schema=schema) == cfg


@pytest.mark.parametrize("name", SCHEMAS)
@FUZZ
@given(data=st.data())
def test_random_dicts_load_or_are_refused_and_round_trip(name, data, scratch):
    schema = SCHEMAS[name]
    raw = data.draw(raw_configs(schema))
    cfg = _load_or_refuse(lambda: config_from_dict(copy.deepcopy(raw), schema))
    if cfg is not None:
        assert isinstance(cfg, schema)
        _round_trips(cfg, schema, scratch)
    try:  # the same tables as a TOML file, where TOML can hold them
        text = tomli_w.dumps(raw).encode("utf-8")
    except (TypeError, ValueError):  # None, a non-string key, a lone surrogate
        return
    scratch.write_bytes(text)
    from_file = _load_or_refuse(lambda: load_config(scratch, schema=schema))
    assert (from_file is None) == (cfg is None)
    if from_file is not None:
        assert from_file == cfg


KEYS = [".".join(path) for schema in SCHEMAS.values() for path, _, _ in _leaves(schema)]
VALUE_TEXT = st.sampled_from(["nan", "inf", "-inf", "+inf", "1e400", "9" * 5000, "[" * 3000,
                              "{a=" * 3000, "3", "-1", "0", "4294967296", "0.5", "true", "'x'",
                              '"asap"', "[1, 2", "digits", "[\"none\", \"skip_connect\"]",
                              "'" + "x" * 5000 + "'", "\x00", "a\nb", "a\rb", "{epochs=3}"])
GOOD_OVERRIDES = st.sampled_from([
    "search.epochs=3", "search.anneal.beta=0.9", "data.source=digits", "space.ops='darts'",
    "space.ops=['none', 'skip_connect']", "run.name=fuzz-1", "run.seed=4294967295",
    "search.method=magnitude", "search.weight_optimizer.lr = 0.1", "train.lr=0.1",
    "model.layers=5", "train.augment={cutout = 0}", "data.root=/data/a b", "train.epochs=1"])
OVERRIDES = st.lists(
    GOOD_OVERRIDES
    | st.builds(lambda key, value: f"{key}={value}",
                st.sampled_from(KEYS) | st.text(max_size=30),
                VALUE_TEXT | st.text(max_size=30))
    | st.text(max_size=60),
    max_size=4)


@pytest.mark.parametrize("name", SCHEMAS)
@FUZZ
@given(overrides=OVERRIDES)
def test_random_overrides_load_or_are_refused(name, overrides, scratch):
    schema = SCHEMAS[name]
    cfg = _load_or_refuse(lambda: config_from_dict(apply_overrides({}, overrides), schema))
    if cfg is not None:
        _round_trips(cfg, schema, scratch)


FRAGMENTS = st.sampled_from(["[run]", "[data]", "[search]", "[search.anneal]", "[train]",
                             "[[x]]", "\n", " = ", "name", "seed", "t0", "epochs", "a.b.c",
                             "nan", "inf", "1e999", "-0", "2147483648", "'x'", '"\\u0000"',
                             "[", "]", "{", "}", ",", '"', "#", "9" * 50, "true"])


@FUZZ
@given(parts=st.lists(FRAGMENTS | st.text(max_size=10), max_size=30))
def test_random_toml_text_loads_or_is_refused(parts, scratch):
    scratch.write_bytes("".join(parts).encode("utf-8", "surrogatepass"))
    for schema in SCHEMAS.values():
        cfg = _load_or_refuse(lambda: load_config(scratch, schema=schema))
        assert cfg is None or isinstance(cfg, schema)
