"""Run files (run.json, genotype.json, results.json) and the `train`/`export` arguments are
checked in one line each, before TensorFlow is imported."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asap_keras import run_dir as run_dir_lib
from asap_keras.child.genotypes import BUILT_IN, resolve
from asap_keras.errors import AsapError, GenotypeError, RunDirError
from tests.search.synthetic_checkpoint import tree

ROOT = Path(__file__).resolve().parent.parent
GOOD = BUILT_IN["darts_v2"].to_dict()
# What each reader must refuse, as file bytes.
BAD_JSON = {
    "not_utf8": b'{"kind": "train\xff\xfe"}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep_object": b'{"a": ' * 80 + b"1" + b"}" * 80,
    "huge_number": b'{"seed": ' + b"9" * 5000 + b"}",
    "list": b"[1, 2]",
    "null": b"null",
    "broken": b'{"kind": ',
    "empty": b"",
}


def genotype_bytes(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


BAD_GENOTYPES = {
    **BAD_JSON,
    "no_source": genotype_bytes(normal=[["sep_conv_3x3"]] + GOOD["normal"][1:]),
    "duplicate_concat": genotype_bytes(normal_concat=[2, 3, 3, 5]),
    "bool_source": genotype_bytes(reduce=[["max_pool_3x3", True]] + GOOD["reduce"][1:]),
    "float_source": genotype_bytes(reduce=[["max_pool_3x3", 0.0]] + GOOD["reduce"][1:]),
    "huge_source": genotype_bytes(reduce=[["max_pool_3x3", 10**40]] + GOOD["reduce"][1:]),
    "unknown_op": genotype_bytes(reduce=[["conv_9x9", 0]] + GOOD["reduce"][1:]),
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_run_json_readers_refuse_in_one_line_naming_the_file(tmp_path, name):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_bytes(BAD_JSON[name])
    with pytest.raises(RunDirError) as info:
        run_dir_lib.read_run_info(run)
    message = str(info.value)
    assert str(run / "run.json") in message and "\n" not in message and len(message) < 400
    (run / "results.json").write_bytes(BAD_JSON[name])
    with pytest.raises(RunDirError, match="results.json"):
        run_dir_lib.read_json_object(run / "results.json")


def test_run_json_that_is_missing_a_folder_or_too_large(tmp_path, monkeypatch):
    with pytest.raises(RunDirError, match=r"no run.json"):
        run_dir_lib.read_run_info(tmp_path)
    (tmp_path / "run.json").mkdir()
    with pytest.raises(RunDirError, match="not a regular file"):
        run_dir_lib.read_run_info(tmp_path)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"class_names": ["x" * 100] * 100}))
    monkeypatch.setattr(run_dir_lib, "MAX_JSON_BYTES", 1000)
    with pytest.raises(RunDirError, match="larger than 1000 bytes"):
        run_dir_lib.read_json_object(big, max_bytes=run_dir_lib.MAX_JSON_BYTES)


def test_a_byte_order_mark_and_the_depth_bound_are_accepted(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": ' * 63 + b"1" + b"}" * 63)
    assert run_dir_lib.read_json_object(path)["a"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_never_opened_for_a_blocking_read(tmp_path):
    os.mkfifo(tmp_path / "run.json")
    with pytest.raises(RunDirError, match="not a regular file"):
        run_dir_lib.read_run_info(tmp_path)
    with pytest.raises(GenotypeError, match="not a regular file"):
        resolve(str(tmp_path / "run.json"))


@pytest.mark.parametrize("name", sorted(BAD_GENOTYPES))
def test_genotype_files_are_refused_in_one_line_naming_the_file(tmp_path, name):
    path = tmp_path / "genotype.json"
    path.write_bytes(BAD_GENOTYPES[name])
    with pytest.raises(GenotypeError) as info:
        resolve(str(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message and len(message) < 500


@pytest.mark.parametrize("spec", ["random:", "random:-1", "random:²", "random:" + "9" * 30,
                                  "nope", "x" * 5000, "", "/"])
def test_genotype_specs_that_name_nothing(spec):
    with pytest.raises(GenotypeError) as info:
        resolve(spec)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_a_genotype_file_round_trips(tmp_path):
    path = tmp_path / "genotype.json"
    path.write_text(BUILT_IN["asap"].to_json())
    assert resolve(str(path)) == BUILT_IN["asap"]


def training_run(root: Path, name="train-run", **files) -> Path:
    """A finished-looking training run: config, run.json, genotype.json (no model)."""
    run = root / name
    run.mkdir()
    (run / "config.resolved.toml").write_text((ROOT / "configs/smoke_train.toml").read_text())
    (run / "run.json").write_text(json.dumps({"kind": "train", "seed": 1}))
    (run / "genotype.json").write_text(BUILT_IN["darts_v2"].to_json())
    for file, content in files.items():
        (run / file.replace("_", ".")).write_bytes(content)
    return run


def refusal_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    """`(argv, text its one-line error must contain)` for train and export refusals."""
    config = str(ROOT / "configs/smoke_train.toml")
    cases = []
    for name, content in BAD_GENOTYPES.items():
        path = tmp_path / f"genotype-{name}.json"
        path.write_bytes(content)
        cases.append((["train", config, "--genotype", str(path)], str(path)))
    (tmp_path / "not.toml").write_bytes(b"[run\n\xff")
    cases += [
        (["train", str(tmp_path / "missing.toml"), "--genotype", "asap"], "missing.toml"),
        (["train", str(tmp_path / "not.toml"), "--genotype", "asap"], "not.toml"),
        (["train", config, "--genotype", "nope"], "'nope'"),
        (["train", config, "--genotype", "random:x"], "random:x"),
        (["train", config, "--genotype", "asap", "--set", "model.layerz=3"], "model.layerz"),
        (["train", "--resume", str(tmp_path / "absent")], "absent"),
    ]
    search = training_run(tmp_path, "search-run")
    (search / "run.json").write_text(json.dumps({"seed": 0}))
    cases.append((["train", "--resume", str(search)], "is a unknown run"))
    for name in ("not_utf8", "deep", "list"):
        run = training_run(tmp_path, f"run-json-{name}")
        (run / "run.json").write_bytes(BAD_JSON[name])
        cases.append((["train", "--resume", str(run)], str(run / "run.json")))
        cases.append((["export", str(run), "--out", str(tmp_path / "x")],
                      str(run / "run.json")))
    for name in ("no_source", "bool_source", "not_utf8"):
        run = training_run(tmp_path, f"genotype-{name}")
        (run / "genotype.json").write_bytes(BAD_GENOTYPES[name])
        cases.append((["train", "--resume", str(run)], str(run / "genotype.json")))
    broken_config = training_run(tmp_path, "config-broken")
    (broken_config / "config.resolved.toml").write_text("[model]\nlayers = 'many'\n")
    cases.append((["train", "--resume", str(broken_config)], "model.layers"))
    trained = training_run(tmp_path, "trained")
    (trained / "model.keras").write_bytes(b"PK\x03\x04 not loaded before the checks")
    no_model = training_run(tmp_path, "no-model")
    model_dir = training_run(tmp_path, "model-dir")
    (model_dir / "model.keras").mkdir()
    (tmp_path / "a-file").write_text("x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    out = str(tmp_path / "export")
    cases += [
        (["export", str(tmp_path / "absent"), "--out", out], "absent"),
        (["export", str(search), "--out", out], "supernet is not a model to export"),
        (["export", str(no_model), "--out", out], str(no_model / "model.keras")),
        (["export", str(model_dir), "--out", out], "not a regular file"),
        (["export", str(trained), "--out", str(tmp_path / "a-file")], "a-file"),
        (["export", str(trained), "--out", str(busy)], "not empty"),
        (["export", str(trained), "--out", str(tmp_path / "a-file" / "x")], "under a file"),
        (["export", str(trained), "--out", out, "--input-shape", "8,8"], "'8,8'"),
        (["export", str(trained), "--out", out, "--input-shape", "0,8,1"], "'0,8,1'"),
        (["export", str(trained), "--out", out, "--input-shape", "a,b,c"], "'a,b,c'"),
        (["export", str(trained), "--out", out, "--input-shape=-8,8,1"], "'-8,8,1'"),
    ]
    return cases


SCRIPT = """
import contextlib, io, json, sys, time
from asap_keras.cli import main
results = []
for args in json.loads(sys.stdin.read()):
    err, out = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(args)
        except SystemExit as exit:  # argparse's own refusals
            code = exit.code
    results.append([code, err.getvalue(), out.getvalue(), time.perf_counter() - started])
print(json.dumps({"results": results,
                  "imported": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}))
"""


def test_train_and_export_refuse_before_importing_tensorflow(tmp_path):
    cases = refusal_cases(tmp_path)
    before = tree(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(
        [args for args, _ in cases]), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["imported"] == []
    for (args, expected), (code, err, out, seconds) in zip(cases, report["results"],
                                                           strict=True):
        assert code == 2 and out == "", (args, err)
        assert err.count("\n") == 1 and err.startswith("asap-keras: error: "), (args, err)
        assert expected in err, (args, expected, err)
        assert seconds < 1.0, (args, seconds)
    assert tree(tmp_path) == before  # no refused command wrote anything


def test_the_refusing_command_line_prints_no_tensorflow_log(tmp_path):
    bad = tmp_path / "genotype.json"
    bad.write_bytes(BAD_GENOTYPES["no_source"])
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "asap_keras.cli", "train",
                           str(ROOT / "configs/smoke_train.toml"), "--genotype", str(bad)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    seconds = time.perf_counter() - started
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert str(bad) in proc.stderr
    for noise in ("oneDNN", "cuda", "tensorflow", "TF_ENABLE", "absl"):
        assert noise not in proc.stderr
    # The whole process (interpreter start included) stays far below TensorFlow's import.
    assert seconds < 10, seconds


def test_errors_are_project_errors():
    assert issubclass(GenotypeError, AsapError) and issubclass(RunDirError, AsapError)
