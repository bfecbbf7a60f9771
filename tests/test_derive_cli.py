"""`asap-keras derive`: writes only what it is asked to, and refuses bad input in one line."""

import contextlib
import json
import os
import signal

import pytest

from asap_keras.cli import main
from asap_keras.run_dir import atomic_write_text
from asap_keras.space.genotype import Genotype
from tests.search.synthetic_checkpoint import make_run, tree, write_checkpoint

POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")


@contextlib.contextmanager
def deadline(seconds):
    """Fails the test instead of hanging if the body blocks (on a FIFO) for too long."""
    def expire(signum, frame):
        raise TimeoutError(f"blocked for over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refuses(args, capsys, *names):
    """Runs the command; expects exit 2 and one stderr line naming each of `names`."""
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    for name in names:
        assert str(name) in captured.err, captured.err
    return captured.err


def test_derive_prints_and_writes_the_newest_checkpoints_genotype(tmp_path, capsys):
    run = make_run(tmp_path)
    out = tmp_path / "cell.json"
    assert main(["derive", str(run), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "ckpt-epoch-0002.npz" in captured.err
    printed = Genotype.from_json(captured.out)
    assert Genotype.from_json(out.read_text()) == printed
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_out_into_a_missing_folder(tmp_path, capsys):
    run = make_run(tmp_path)
    before = tree(tmp_path)
    out = tmp_path / "absent" / "cell.json"
    assert "folder does not exist" in refuses(["derive", str(run), "--out", str(out)], capsys,
                                               out)
    assert tree(tmp_path) == before


def test_out_onto_a_directory_of_the_run(tmp_path, capsys):
    run = make_run(tmp_path)
    before = tree(run)
    target = run / "checkpoints"
    assert "is a directory" in refuses(["derive", str(run), "--out", str(target)], capsys,
                                       target)
    assert tree(run) == before  # no `.checkpoints.<pid>.tmp` left, nothing touched


@POSIX
def test_out_onto_a_fifo(tmp_path, capsys):
    run = make_run(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    with deadline(10):
        refuses(["derive", str(run), "--out", str(tmp_path / "pipe")], capsys, "pipe")


@pytest.mark.parametrize("damage", ["truncate", "npy", "meta", "empty"])
def test_a_refused_checkpoint_changes_no_file_in_the_run(tmp_path, capsys, damage):
    run = make_run(tmp_path)
    newest = run / "checkpoints" / "ckpt-epoch-0002.npz"
    if damage == "truncate":
        newest.write_bytes(newest.read_bytes()[:300])
    elif damage == "npy":
        newest.write_bytes(b"\x93NUMPY\x01\x00" + b"v" * 120)
    elif damage == "meta":
        import numpy as np

        with np.load(newest) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["__meta__"] = np.array(json.dumps({"format": 2, "epoch": 2, "signature": {
            "ops": ["sep_conv_3x3"], "nodes": 2}}))
        write_checkpoint(newest, arrays)
    else:
        newest.write_bytes(b"")
    before = tree(run)
    refuses(["derive", str(run), "--out", str(run / "genotype.json")], capsys, newest)
    assert tree(run) == before and not (run / "genotype.json").exists()


@POSIX
def test_a_fifo_named_like_the_newest_checkpoint_is_skipped(tmp_path, capsys):
    run = make_run(tmp_path)
    os.mkfifo(run / "checkpoints" / "ckpt-epoch-0009.npz")
    (run / "checkpoints" / "ckpt-epoch-0010.npz").mkdir()
    with deadline(10):
        assert main(["derive", str(run)]) == 0
        assert "ckpt-epoch-0002.npz" in capsys.readouterr().err
        err = refuses(["derive", str(run), "--checkpoint",
                       str(run / "checkpoints" / "ckpt-epoch-0009.npz")], capsys, "0009")
    assert "not a regular file" in err


def test_a_run_without_checkpoints_and_a_missing_run(tmp_path, capsys):
    run = make_run(tmp_path, epochs=())
    refuses(["derive", str(run)], capsys, "no checkpoint", run)
    refuses(["derive", str(tmp_path / "missing")], capsys, "missing")
    refuses(["derive", str(tmp_path / ("x" * 300))], capsys, "run directory not found")


def test_out_with_a_name_too_long(tmp_path, capsys):
    run = make_run(tmp_path)
    before = tree(tmp_path)
    refuses(["derive", str(run), "--out", str(tmp_path / ("x" * 300))], capsys, "x" * 300)
    assert tree(tmp_path) == before


def test_a_failed_atomic_write_removes_its_temporary_file(tmp_path):
    (tmp_path / "target").mkdir()
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "target", "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]
    atomic_write_text(tmp_path / "file.txt", "é\n")
    assert (tmp_path / "file.txt").read_bytes() == "é\n".encode()


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    import asap_keras.run_dir as run_dir_lib

    run = make_run(tmp_path)
    before = tree(run)

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_dir_lib.os, "fsync", full_disk)
    err = refuses(["derive", str(run), "--out", str(run / "genotype.json")], capsys,
                  run / "genotype.json")
    assert "No space left" in err
    monkeypatch.undo()
    assert sorted(tree(run)) == sorted(before)  # the temporary file is gone again


def test_a_run_derives_by_its_methods_rule(tmp_path, capsys, monkeypatch):
    import numpy as np

    from asap_keras.search import methods

    run = make_run(tmp_path)
    (run / "config.resolved.toml").write_text("[run]\nname = 'synthetic'\n\n[search]\n"
                                              "method = 'gold'\n\n[space]\ntopology = 'free'\n")
    seen = {}

    class KeepEveryAliveOp:
        """A stand-in free method: every alive op of every edge into node 2."""

        def derive(self, state, op_names, nodes):
            seen["nodes"], seen["ops"] = nodes, list(op_names)
            cells = [[(op_names[k], src, 2) for e, src in enumerate((0, 1))
                      for k in np.flatnonzero(state["alive"][t][e])] for t in ("normal", "reduce")]
            return Genotype.free(*cells, nodes=nodes)

    def make_method(search, num_ops, topology):
        seen["method"], seen["num_ops"], seen["topology"] = search.method, num_ops, topology
        return KeepEveryAliveOp()

    monkeypatch.setattr(methods, "make_method", make_method)
    assert main(["derive", str(run)]) == 0
    printed = Genotype.from_json(capsys.readouterr().out)
    assert seen == {"method": "gold", "num_ops": 3, "topology": "free", "nodes": 2,
                    "ops": ["sep_conv_3x3", "max_pool_3x3", "skip_connect"]}
    # The synthetic checkpoints kill op 0 on every other edge: edge 0 (0 -> 2) keeps ops 1
    # and 2, edge 1 (1 -> 2) all three.
    assert printed.topology == "free"
    assert printed.normal == (("max_pool_3x3", 0, 2), ("skip_connect", 0, 2),
                              ("max_pool_3x3", 1, 2), ("sep_conv_3x3", 1, 2),
                              ("skip_connect", 1, 2))
