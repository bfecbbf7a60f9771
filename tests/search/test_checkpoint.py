"""The checkpoint readers are total: a value, or one `CheckpointError` naming the file."""

import os
import re
import sys
import zipfile

import numpy as np
import pytest

from asap_keras.derive import derive_from_checkpoint
from asap_keras.errors import CheckpointError
from asap_keras.search import checkpoint
from asap_keras.space import genotype as genotype_lib
from asap_keras.space.primitives import edge_count
from tests.search.synthetic_checkpoint import (
    OPS,
    checkpoint_arrays,
    meta_array,
    npy_header,
    npz_bytes,
    replace_member,
    signature,
    write_checkpoint,
)


def refused(path, match=""):
    """Expects a CheckpointError that names `path` (and matches `match`), on one line."""
    with pytest.raises(CheckpointError, match=re.escape(repr(str(path)))) as info:
        checkpoint.read_arch_state(path)
    message = str(info.value)
    assert "\n" not in message and re.search(match, message), message
    with pytest.raises(CheckpointError, match=re.escape(repr(str(path)))):
        derive_from_checkpoint(path)
    return message


def with_arrays(tmp_path, **changes):
    arrays = checkpoint_arrays()
    arrays.update(changes)
    return write_checkpoint(tmp_path / "ckpt-epoch-0001.npz", arrays)


def with_meta(tmp_path, meta):
    return with_arrays(tmp_path, __meta__=meta_array(meta))


def good_meta(**changes):
    meta = {"format": checkpoint.FORMAT_VERSION, "epoch": 1, "signature": signature()}
    meta.update(changes)
    return meta


def good_signature(**changes):
    return good_meta(signature={**signature(), **changes})


@pytest.mark.parametrize("fmt", [1, 2, 3])
def test_a_written_checkpoint_derives_the_genotype_of_its_state(tmp_path, fmt):
    arrays = checkpoint_arrays(fmt=fmt)
    path = write_checkpoint(tmp_path / "ckpt-epoch-0003.npz", arrays)
    state, meta = checkpoint.read_arch_state(path)
    assert meta["format"] == fmt and meta["epoch"] == 3
    expected = genotype_lib.derive(
        {"alpha": {t: arrays[f"arch/alpha_{t}"] for t in ("normal", "reduce")},
         "alive": {t: arrays[f"arch/mask_{t}"] > 0.5 for t in ("normal", "reduce")},
         "temperature": float(arrays["arch/temperature"])}, OPS, 2)
    assert derive_from_checkpoint(path) == expected
    assert state["temperature"] == pytest.approx(0.8)


def test_a_compressed_checkpoint_reads_too(tmp_path):
    path = write_checkpoint(tmp_path / "c.npz", compressed=True)
    assert derive_from_checkpoint(path).nodes == 2


def test_a_npy_file_renamed_to_npz(tmp_path):
    path = tmp_path / "ckpt-epoch-0001.npz"
    np.save(tmp_path / "plain.npy", np.zeros(3))
    os.replace(tmp_path / "plain.npy", path)
    refused(path, "corrupt or not a checkpoint")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"hello"])
def test_empty_truncated_and_foreign_files(tmp_path, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    refused(path, "corrupt or not a checkpoint")


def test_a_checkpoint_cut_in_half(tmp_path):
    path = write_checkpoint(tmp_path / "c.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(path)


def test_a_missing_file_and_a_folder(tmp_path):
    refused(tmp_path / "nothing.npz", "not found")
    (tmp_path / "dir.npz").mkdir()
    refused(tmp_path / "dir.npz", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.npz")
    refused(tmp_path / "fifo.npz", "not a regular file")  # would hang if it were opened


def test_masks_stored_as_strings(tmp_path):
    shape = checkpoint_arrays()["arch/mask_normal"].shape
    path = with_arrays(tmp_path, **{"arch/mask_normal": np.full(shape, "1")})
    refused(path, r"arch/mask_normal.*dtype")


@pytest.mark.parametrize("value", [np.array([0.8], np.float32), np.ones((2, 2), np.float32),
                                   np.array("0.8")])
def test_a_temperature_that_is_not_a_scalar_number(tmp_path, value):
    refused(with_arrays(tmp_path, **{"arch/temperature": value}), "arch/temperature")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 0.0, -1.0])
def test_a_temperature_that_is_not_finite_and_positive(tmp_path, value):
    path = with_arrays(tmp_path, **{"arch/temperature": np.array(value, np.float32)})
    refused(path, "temperature must be finite and > 0")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_alphas_are_refused_not_derived(tmp_path, value):
    alpha = checkpoint_arrays()["arch/alpha_reduce"].copy()
    alpha[3, 1] = value
    refused(with_arrays(tmp_path, **{"arch/alpha_reduce": alpha}), "not finite")


def test_alphas_that_overflow_at_the_temperature(tmp_path):
    alpha = checkpoint_arrays()["arch/alpha_normal"].astype(np.float64) * 1e300
    path = with_arrays(tmp_path, **{"arch/alpha_normal": alpha,
                                    "arch/temperature": np.array(1e-10)})
    refused(path, "overflow")


@pytest.mark.parametrize("shape", [(edge_count(3), len(OPS)), (edge_count(2), len(OPS) + 1),
                                   (edge_count(2),), (edge_count(2), len(OPS), 1)])
def test_alphas_whose_shape_does_not_fit_the_signature(tmp_path, shape):
    path = with_arrays(tmp_path, **{"arch/alpha_normal": np.zeros(shape, np.float32)})
    assert f"expected {(edge_count(2), len(OPS))}" in refused(path, "arch/alpha_normal")


def test_a_missing_architecture_array(tmp_path):
    arrays = checkpoint_arrays()
    del arrays["arch/mask_reduce"]
    refused(write_checkpoint(tmp_path / "c.npz", arrays), "has no array 'arch/mask_reduce'")


@pytest.mark.parametrize("meta", [[1, 2], "text", 3, None])
def test_metadata_that_is_not_a_json_object(tmp_path, meta):
    refused(with_meta(tmp_path, meta), "metadata must be a JSON object")


def test_metadata_that_is_not_json(tmp_path):
    path = with_arrays(tmp_path, __meta__=np.array("{'format': 2"))
    refused(path, "metadata is not valid JSON")


@pytest.mark.parametrize("value", [np.array([1, 2, 3]), np.array(["{}", "{}"]),
                                   np.array(b"{}")])
def test_metadata_that_is_not_a_string(tmp_path, value):
    refused(with_arrays(tmp_path, __meta__=value), "__meta__")


def test_metadata_nested_too_deeply(tmp_path):
    nested = "[" * 100_000 + "]" * 100_000
    path = with_arrays(tmp_path, __meta__=np.array('{"format": 2, "x": ' + nested + "}"))
    refused(path, "nested too deeply")


def test_a_number_of_5000_digits_in_the_metadata(tmp_path):
    text = '{"format": 2, "epoch": 1, "signature": {"nodes": ' + "9" * 5000 + "}}"
    message = refused(with_arrays(tmp_path, __meta__=np.array(text)), "not valid JSON")
    assert len(message) < 400


def test_missing_metadata(tmp_path):
    arrays = checkpoint_arrays()
    del arrays["__meta__"]
    refused(write_checkpoint(tmp_path / "c.npz", arrays), "has no array '__meta__'")


@pytest.mark.parametrize("nodes", ["4", True, 4.0, 0, -1, 33, 10**9, 10**30, None, [4]])
def test_signature_nodes_must_be_a_bounded_integer(tmp_path, nodes):
    meta = good_signature()
    if nodes is None:
        del meta["signature"]["nodes"]
    else:
        meta["signature"]["nodes"] = nodes
    message = refused(with_meta(tmp_path, meta), r"signature.nodes must be an integer in 1..32")
    assert len(message) < 400


@pytest.mark.parametrize("ops", [["sep_conv_3x3", "conv_9x9"], ["skip_connect", "skip_connect"],
                                 ["skip_connect"], "asap", [], [1, 2], None,
                                 ["sep_conv_3x3", ["max_pool_3x3"]]])
def test_signature_ops_must_list_distinct_known_names(tmp_path, ops):
    refused(with_meta(tmp_path, good_signature(ops=ops)), "signature.ops must list")


@pytest.mark.parametrize("changes", [{"format": 4}, {"format": "2"}, {"format": True},
                                     {"epoch": -1}, {"epoch": 2.5}, {"epoch": 10**12},
                                     {"signature": [1]}, {"signature": None}])
def test_format_epoch_and_signature_types(tmp_path, changes):
    refused(with_meta(tmp_path, good_meta(**changes)), "format|epoch|signature")


def member_data(path, name):
    """The file's bytes and the offset range of member `name`'s (compressed) data."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(name)
    local = info.header_offset
    start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + int.from_bytes(
        data[local + 28:local + 30], "little")
    return data, info, range(start, start + info.compress_size)


def test_damaged_deflate_data(tmp_path):
    arrays = checkpoint_arrays()
    arrays["arch/alpha_normal"] = np.zeros((edge_count(2), len(OPS)), np.float32)
    path = write_checkpoint(tmp_path / "c.npz", arrays, compressed=True)
    data, info, span = member_data(path, "arch/alpha_normal.npy")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    for i in span[2:-2]:
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    refused(path, r"arch/alpha_normal.*corrupt")


def test_a_flipped_byte_in_stored_data_fails_its_crc(tmp_path):
    path = write_checkpoint(tmp_path / "c.npz")
    data, _, span = member_data(path, "arch/alpha_reduce.npy")
    data[span[-5]] ^= 0xFF  # in the array data, past the .npy header
    path.write_bytes(bytes(data))
    refused(path, r"arch/alpha_reduce.*(corrupt|CRC)")


@pytest.mark.parametrize("member, descr", [("arch/alpha_normal.npy", "<f4"),
                                           ("__meta__.npy", "<U100"),
                                           ("arch/temperature.npy", "<f8")])
def test_a_header_claiming_a_huge_shape_allocates_nothing(tmp_path, member, descr):
    data = replace_member(npz_bytes(checkpoint_arrays()), member,
                          npy_header((10**9, 10**9), descr) + b"\0" * 64)
    path = tmp_path / "huge.npz"
    path.write_bytes(data)
    refused(path, r"has shape \(1000000000, 1000000000\)")


def test_a_header_whose_data_is_short(tmp_path):
    shape = (edge_count(2), len(OPS))
    data = replace_member(npz_bytes(checkpoint_arrays()), "arch/alpha_normal.npy",
                          npy_header(shape) + b"\0" * 8)
    path = tmp_path / "short.npz"
    path.write_bytes(data)
    refused(path, r"arch/alpha_normal.*data bytes")


def test_a_huge_metadata_string(tmp_path):
    data = replace_member(npz_bytes(checkpoint_arrays()), "__meta__.npy",
                          npy_header((), f"<U{10**7}"))
    path = tmp_path / "meta.npz"
    path.write_bytes(data)
    refused(path, "bytes, more than")


def test_object_arrays_are_never_unpickled(tmp_path):
    data = replace_member(npz_bytes(checkpoint_arrays()), "arch/temperature.npy",
                          npy_header((), "|O") + b"\x80\x04K\x01.")
    path = tmp_path / "pickle.npz"
    path.write_bytes(data)
    refused(path, "dtype")


class FakeVariable:
    def __init__(self, value):
        self.value = np.array(value)
        self.shape, self.dtype, self.path = self.value.shape, str(self.value.dtype), "v"

    def assign(self, value):
        self.value = np.array(value)


class FakeModel:
    """What `restore` reads of a SearchModel: three lists of variables."""

    def __init__(self, arrays):
        def group(name):
            return [FakeVariable(np.zeros_like(arrays[k])) for k in sorted(arrays)
                    if k.startswith(name + "/")]
        self.weights = group("model")
        self.weight_optimizer = type("O", (), {"variables": group("weight_optimizer")})()
        self.arch_optimizer = type("O", (), {"variables": group("arch_optimizer")})()


def test_restore_assigns_every_variable_or_none(tmp_path):
    arrays = checkpoint_arrays(epoch=4)
    path = write_checkpoint(tmp_path / "c.npz", arrays)
    model = FakeModel(arrays)
    assert checkpoint.restore(model, path, signature()) == 4
    np.testing.assert_array_equal(model.weights[1].value, arrays["model/00001"])
    assert model.weight_optimizer.variables[0].value == 7
    # A variable of another shape: refused before anything is assigned.
    arrays["model/00001"] = np.zeros((2, 2), np.float32)
    bad = write_checkpoint(tmp_path / "bad.npz", arrays)
    fresh = FakeModel(checkpoint_arrays())
    with pytest.raises(CheckpointError, match=r"model/00001.*shape"):
        checkpoint.restore(fresh, bad, signature())
    assert not fresh.weights[0].value.any()
    with pytest.raises(CheckpointError, match="another model"):
        checkpoint.restore(FakeModel(arrays), path, {**signature(), "channels": 99})
    for fmt in (1, 2):  # 2: before GOLD-NAS' lambda and dlam Variables
        old = write_checkpoint(tmp_path / "old.npz", checkpoint_arrays(fmt=fmt))
        with pytest.raises(CheckpointError, match="resumes format 3 only"):
            checkpoint.restore(FakeModel(arrays), old, signature())
    arrays = checkpoint_arrays()
    arrays["model/00000"] = arrays["model/00000"].astype(np.float64)
    with pytest.raises(CheckpointError, match="dtype float64"):
        checkpoint.restore(FakeModel(checkpoint_arrays()),
                           write_checkpoint(tmp_path / "f64.npz", arrays), signature())


def test_restore_takes_the_traced_structure_and_the_waste_when_stored(tmp_path):
    arrays = checkpoint_arrays()
    shape = arrays["arch/mask_normal"].shape
    model = FakeModel(arrays)
    model.network = type("N", (), {"cell_types": ("normal", "reduce")})()
    model.pending_structure, model.rebuild_waste = None, 0
    checkpoint.restore(model, write_checkpoint(tmp_path / "old.npz", arrays), signature())
    assert model.pending_structure is None and model.rebuild_waste == 0  # none stored
    # The step still computes op 0 of edge 0 of the normal cell, pruned (mask 0) since.
    traced = {t: arrays[f"arch/mask_{t}"].copy() for t in ("normal", "reduce")}
    traced["normal"][0, 0] = 1.0
    stored = {**arrays, "step/rebuild_waste": np.asarray(123, np.int64),
              **{f"step/traced_{t}": v for t, v in traced.items()}}
    checkpoint.restore(model, write_checkpoint(tmp_path / "c.npz", stored), signature())
    assert model.rebuild_waste == 123
    ops = shape[1]
    assert model.pending_structure["normal"][0] == tuple(range(ops))
    assert model.pending_structure["normal"][2] == tuple(range(1, ops))  # mask[::2, 0] = 0
    # A traced structure without an alive op is refused, and nothing is assigned.
    traced["reduce"][1, 2] = 0.0
    bad = write_checkpoint(tmp_path / "bad.npz",
                           {**stored, "step/traced_reduce": traced["reduce"]})
    fresh = FakeModel(checkpoint_arrays())
    fresh.network, fresh.pending_structure, fresh.rebuild_waste = model.network, None, 0
    with pytest.raises(CheckpointError, match=r"traced_reduce leaves out the alive op 2 of "
                                              r"edge 1"):
        checkpoint.restore(fresh, bad, signature())
    assert fresh.pending_structure is None and not fresh.weights[0].value.any()
    with pytest.raises(CheckpointError, match=r"rebuild_waste must be >= 0, not -1"):
        checkpoint.restore(fresh, write_checkpoint(
            tmp_path / "neg.npz", {**stored, "step/rebuild_waste": np.asarray(-1)}),
            signature())


def test_list_checkpoints_skips_what_is_not_a_regular_file(tmp_path):
    write_checkpoint(tmp_path / "ckpt-epoch-0001.npz")
    (tmp_path / "ckpt-epoch-0002.npz").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "ckpt-epoch-0003.npz")
    (tmp_path / "ckpt-epoch-0004.npz").symlink_to(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    assert checkpoint.list_checkpoints(tmp_path) == [(1, tmp_path / "ckpt-epoch-0001.npz")]
    assert checkpoint.list_checkpoints(tmp_path / "absent") == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX errors")
def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    class Arch:
        alphas = masks = {t: FakeVariable(np.zeros((2, 3))) for t in ("normal", "reduce")}
        temperature = FakeVariable(1.0)

    model = FakeModel(checkpoint_arrays())
    model.network = type("N", (), {"arch": Arch, "op_names": OPS,
                                   "traced_structure": lambda self: {}})()
    model.rebuild_waste = 0
    for v in [*model.weights, *model.weight_optimizer.variables,
              *model.arch_optimizer.variables, Arch.temperature, *Arch.alphas.values()]:
        v.numpy = lambda v=v: v.value
    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space"):
        checkpoint.save(model, tmp_path, 1, signature())
    assert list(tmp_path.iterdir()) == []
