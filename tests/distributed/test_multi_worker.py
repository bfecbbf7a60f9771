"""Two worker processes on this machine (localhost ports) run one multi-worker search."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT

CONFIG = str(ROOT / "configs" / "smoke.toml")
LIMIT_S = 300  # per launch: each worker traces the tiny supernet on a 2-core machine


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cluster_env(ports, index):
    tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                 "task": {"type": "worker", "index": index}}
    return {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": str(ROOT)}


def launch(args, ports):
    return [subprocess.Popen([sys.executable, *args(i)], env=cluster_env(ports, i), cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(len(ports))]


def finish(procs, timeout=LIMIT_S):
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return [(p.returncode, err[-3000:]) for p, (_, err) in zip(procs, outputs)]


def events(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def test_two_workers_take_the_same_decisions_and_only_the_chief_writes(tmp_path):
    runs = tmp_path / "runs"
    ports = free_ports(2)
    procs = launch(lambda i: ["-m", "tests.distributed.worker_job", CONFIG, str(runs),
                              str(tmp_path / f"state{i}.npz")], ports)
    for code, err in finish(procs):
        assert code == 0, err
    chief, worker = (np.load(tmp_path / f"state{i}.npz") for i in range(2))
    keys = [k for k in chief.files if k != "run_path"]
    assert keys and sorted(keys) == sorted(k for k in worker.files if k != "run_path")
    for key in keys:  # same all-reduced alphas, so the same prunes, bit for bit
        np.testing.assert_array_equal(chief[key], worker[key], err_msg=key)
    assert any((chief[k] < 0.5).any() for k in keys if k.startswith("alive/")), "no prune ran"
    # One run directory, the chief's; the worker's scratch copy is gone.
    assert [p.name for p in runs.iterdir()] == [os.path.basename(str(chief["run_path"]))]
    assert not os.path.exists(str(worker["run_path"]))
    log = events(runs / os.path.basename(str(chief["run_path"])))
    start = next(e for e in log if e["kind"] == "run_start")
    assert start["strategy"] == "multi_worker" and start["replicas"] == 2
    assert log[-1]["kind"] == "run_end" and log[-1]["status"] == "finished"


@pytest.mark.slow  # about 4 minutes here: two launches of two workers (run with -m slow)
def test_a_lost_worker_ends_the_run_naming_it_and_resume_finishes_it(tmp_path):
    runs = tmp_path / "runs"
    cli = ["-m", "asap_keras.cli", "search"]
    ports = free_ports(2)
    procs = launch(lambda i: [*cli, CONFIG, "--set", f"run.runs_dir='{runs}'",
                              "--set", "search.epochs=4", "--set", "data.limit=240",
                              "--strategy", "multi_worker",
                              "--verbose", "0"], ports)
    deadline, run_dir = time.time() + LIMIT_S, None
    try:
        while time.time() < deadline and run_dir is None:
            assert all(p.poll() is None for p in procs), finish(procs, 10)
            found = list(runs.glob("*/checkpoints/*"))
            run_dir = found[0].parent.parent if found else None
            time.sleep(0.2)
        assert run_dir is not None, "no checkpoint in time"
        procs[1].send_signal(signal.SIGKILL)
        (code, err), _ = finish(procs, 120)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert code == 2 and "worker /job:worker/task:1 stopped" in err, (code, err)
    end = events(run_dir)[-1]
    assert end["kind"] == "run_end" and end["status"] == "failed"
    assert "/job:worker/task:1" in end["reason"] and "--resume" in end["reason"]

    procs = launch(lambda i: [*cli, "--resume", str(run_dir), "--verbose", "0"],
                   free_ports(2))
    for code, err in finish(procs):
        assert code == 0, err
    log = events(run_dir)
    starts = [e["start_epoch"] for e in log if e["kind"] == "run_start"]
    assert starts[0] == 0 and starts[-1] > 0
    assert log[-1]["kind"] == "run_end" and log[-1]["status"] == "finished"
    assert [p.name for p in runs.iterdir()] == [run_dir.name]
    assert (run_dir / "genotype.json").is_file()
