"""Property tests: any checkpoint or genotype input gives a value or the project's own error.

Inputs are mutations of a real small checkpoint (bytes, arrays, metadata) written in the
documented layout, and random JSON values and mutations of a valid genotype. Bounded to a
few seconds each.
"""

import json
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asap_keras.child.genotypes import BUILT_IN, resolve
from asap_keras.derive import derive_from_checkpoint
from asap_keras.errors import AsapError
from asap_keras.search import checkpoint
from asap_keras.space.genotype import Genotype
from tests.search.synthetic_checkpoint import checkpoint_arrays, meta_array, npz_bytes

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
VALID = npz_bytes(checkpoint_arrays())
VALID_COMPRESSED = npz_bytes(checkpoint_arrays(), compressed=True)


def read_all(path):
    """Every reader on one file: each returns a value or raises an AsapError."""
    for reader in (checkpoint.read_meta, checkpoint.read_arch_state, derive_from_checkpoint):
        try:
            reader(path)
        except AsapError as err:
            assert "\n" not in str(err) and str(path) in str(err)


@st.composite
def mutated_bytes(draw):
    data = bytearray(draw(st.sampled_from([VALID, VALID_COMPRESSED])))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        at = draw(st.integers(0, len(data)))
        if action == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif at < len(data):
            data[at:at + 8] = bytes(len(data[at:at + 8]))
    return bytes(data)


@FUZZ
@given(data=mutated_bytes())
def test_mutated_checkpoint_bytes(tmp_path, data):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(data)
    read_all(path)


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(data)
    read_all(path)


ARRAY_KEYS = ["arch/alpha_normal", "arch/alpha_reduce", "arch/mask_normal",
              "arch/mask_reduce", "arch/temperature", "__meta__"]
ODD_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.integers(-2**63, 2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
    st.text(max_size=20).map(np.str_),
    st.lists(st.floats(width=32), max_size=6).map(lambda v: np.array(v, np.float32)),
    st.sampled_from([np.zeros((5, 3)), np.ones((5, 3), bool), np.zeros((5, 4), np.float16),
                     np.full((5, 3), np.nan), np.full((5, 3), 1e38, np.float32),
                     np.zeros((5, 3), complex), np.zeros((3, 5)).T, np.array([], np.float32),
                     np.array(["a", "b"]), np.zeros((5, 3), ">f8"), np.array(b"{}")]),
)


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(ARRAY_KEYS), ODD_VALUES, max_size=3),
       dropped=st.sets(st.sampled_from(ARRAY_KEYS), max_size=2))
def test_mutated_arrays(tmp_path, changes, dropped):
    arrays = {k: v for k, v in {**checkpoint_arrays(), **changes}.items() if k not in dropped}
    path = tmp_path / "ckpt.npz"
    path.write_bytes(npz_bytes(arrays))
    read_all(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats()
    | st.text(max_size=12) | st.sampled_from(["sep_conv_3x3", "none", "skip_connect"]),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20)
META_KEYS = st.sampled_from(["format", "epoch", "signature"])
SIGNATURE_KEYS = st.sampled_from(["ops", "nodes", "cells"])


@FUZZ
@given(meta_changes=st.dictionaries(META_KEYS, JSON, max_size=2),
       signature_changes=st.dictionaries(SIGNATURE_KEYS, JSON, max_size=2),
       whole=st.none() | JSON)
def test_mutated_metadata(tmp_path, meta_changes, signature_changes, whole):
    arrays = checkpoint_arrays()
    meta = json.loads(str(arrays["__meta__"]))
    meta["signature"].update(signature_changes)
    meta.update(meta_changes)
    arrays["__meta__"] = meta_array(meta if whole is None else whole)
    path = tmp_path / "ckpt.npz"
    path.write_bytes(npz_bytes(arrays))
    read_all(path)


@FUZZ
@given(names=st.lists(st.sampled_from([*ARRAY_KEYS, "junk", "arch/x"]), max_size=8),
       payload=st.binary(max_size=200))
def test_members_holding_arbitrary_bytes(tmp_path, names, payload):
    path = tmp_path / "ckpt.npz"
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the test
        for name in names:
            archive.writestr(name + ".npy", payload)
    read_all(path)


def genotype_total(raw):
    try:
        genotype = Genotype.from_dict(raw)
    except AsapError as err:
        assert "\n" not in str(err) and len(str(err)) < 600
        return
    assert Genotype.from_json(genotype.to_json()) == genotype


@FUZZ
@given(raw=JSON)
def test_random_json_values_as_genotypes(raw):
    genotype_total(raw)


@st.composite
def mutated_genotype(draw):
    raw = BUILT_IN[draw(st.sampled_from(sorted(BUILT_IN)))].to_dict()
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(sorted(raw)))
        value = raw[key]
        if isinstance(value, list) and value and draw(st.booleans()):
            i = draw(st.integers(0, len(value) - 1))
            if isinstance(value[i], list) and value[i] and draw(st.booleans()):
                value[i][draw(st.integers(0, len(value[i]) - 1))] = draw(JSON)
            else:
                value[i] = draw(JSON)
        elif isinstance(value, list) and draw(st.booleans()):
            value.append(draw(JSON) if draw(st.booleans()) else list(value[-1:]))
        else:
            raw[key] = draw(JSON)
    if draw(st.booleans()):
        del raw[draw(st.sampled_from(sorted(raw)))]
    return raw


@FUZZ
@given(raw=mutated_genotype())
def test_mutated_genotypes(raw):
    genotype_total(raw)


@FUZZ
@given(raw=mutated_genotype(), text_change=st.sampled_from(["none", "cut", "bytes", "nest"]))
def test_genotype_files(tmp_path, raw, text_change):
    text = json.dumps(raw).encode()
    if text_change == "cut":
        text = text[: len(text) // 2]
    elif text_change == "bytes":
        text = b"\xff\xfe" + text
    elif text_change == "nest":
        text = b"[" * 5000 + text + b"]" * 5000
    path = tmp_path / "genotype.json"
    path.write_bytes(text)
    try:
        resolve(str(path))
    except AsapError as err:
        assert str(path) in str(err) and "\n" not in str(err)


@pytest.mark.parametrize("text", ["[" * 100_000, "9" * 5000, '{"normal": ' * 3000])
def test_genotype_json_extremes(text):
    with pytest.raises(AsapError):
        Genotype.from_json(text)
