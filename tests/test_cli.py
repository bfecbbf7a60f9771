"""The command line's stop handling: SIGTERM stops a run like Ctrl-C."""

import os
import signal
import time

import pytest

from asap_keras import cli
from asap_keras.search.event_log import RunInterrupted


@pytest.mark.parametrize("command, hint", [("search", True), ("derive", False)])
def test_sigterm_stops_like_ctrl_c_and_the_handler_is_restored(monkeypatch, capsys, command,
                                                               hint, tmp_path):
    def killed(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this
        except KeyboardInterrupt as err:  # a runner's ends_run turns it into this
            raise RunInterrupted(tmp_path / "run-1") from err
        raise AssertionError("SIGTERM did not interrupt the command")

    monkeypatch.setattr(cli, f"_{command}", killed)
    before = signal.getsignal(signal.SIGTERM)
    argv = [command, "configs/smoke.toml"] if command == "search" else [command, "some-run"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    resume = f"resume with: asap-keras {command} --resume {tmp_path / 'run-1'}"
    assert "interrupted" in err and (resume in err) == hint
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_search_stopped_by_sigterm_exits_within_seconds_and_says_where(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    cmd = [sys.executable, "-m", "asap_keras.cli", "search", str(ROOT / "configs/smoke.toml"),
           "--set", f"run.runs_dir='{tmp_path}'", "--set", "search.epochs=6", "--verbose", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.time() + 300
    events_file = None
    while time.time() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("*/events.jsonl"))
        if found and '"kind":"epoch"' in found[0].read_text():
            events_file = found[0]
            break
        time.sleep(0.2)
    assert events_file is not None, "the search finished no epoch in time"
    proc.send_signal(signal.SIGTERM)
    signalled = time.time()
    _, err = proc.communicate(timeout=60)
    exited = time.time() - signalled
    assert proc.returncode == 130 and exited < 20, (proc.returncode, exited)
    log = [json.loads(line) for line in events_file.read_text().splitlines()]
    finished = [e["epoch"] for e in log if e["kind"] == "epoch"]
    assert log[-1]["kind"] == "run_end" and log[-1]["status"] == "interrupted"
    assert log[-1]["epoch"] == finished[-1]
    assert f"resume with: asap-keras search --resume {events_file.parent}" in err


def test_a_finished_search_command_exits_at_once_with_everything_written(tmp_path):
    """`asap-keras` leaves with os._exit once the command returns (interpreter teardown can
    wait up to a minute on tf.data's autotuning thread): whatever the run wrote is complete
    and the last line it printed arrives."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    cmd = [sys.executable, "-m", "asap_keras.cli", "search", str(ROOT / "configs/smoke.toml"),
           "--set", f"run.runs_dir='{tmp_path}'", "--set", "search.epochs=1", "--verbose", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = tmp_path.iterdir()
    assert proc.stdout.strip().splitlines()[-1].endswith(run.name)
    log = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert log[-1]["kind"] == "run_end" and log[-1]["status"] == "finished"
    assert json.loads((run / "genotype.json").read_text())["normal"]
    summaries = list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert summaries and all(f.stat().st_size > 100 for f in summaries)
    # It says how much of the search went to building step graphs, as its events count it.
    traced = sum(e["seconds"] for e in log if e["kind"] == "trace")
    assert (f"building step graphs took {traced:.1f} s of the search's "
            f"{log[-1]['seconds']:.1f} s") in proc.stderr


def test_version(capsys):
    from asap_keras import __version__

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"asap-keras {__version__}"


def test_dry_run_describes_the_search_and_writes_nothing(capsys, tmp_path):
    import tomllib
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "configs" / "smoke.toml"
    runs = tmp_path / "runs"
    assert cli.main(["search", str(config), "--dry-run", "--set",
                     f"run.runs_dir='{runs}'"]) == 0
    out = capsys.readouterr().out
    resolved = tomllib.loads(out)  # the `# ...` summary lines are TOML comments
    assert resolved["run"]["runs_dir"] == str(runs) and resolved["search"]["epochs"] == 3
    summary = dict(line[2:].split(": ", 1) for line in out.splitlines()
                   if line.startswith("# ") and ": " in line)
    # By hand from smoke.toml: 400 digits, 10% held out -> 360, halves of 180, batch 32 -> 5
    # steps; T(0) = 1.3 >= 1.05 > T(1) = 0.455 -> one grace epoch; 3 cells x 14 edges x 4 ops.
    assert summary["steps per epoch"].startswith("5 ")
    assert summary["epochs"] == "at most 3, grace epochs: 1"
    assert "168 ops in all" in summary["supernet"]
    # 2 cell types x 14 edges x 4 ops architecture parameters.
    assert summary["supernet parameters"].endswith("+ 112 architecture parameters")
    assert float(summary["supernet multiply-adds per image"].split()[0]) > 0
    assert not runs.exists()


def test_dry_run_refuses_a_resume(capsys, tmp_path):
    assert cli.main(["search", "--resume", str(tmp_path), "--dry-run"]) == 2
    assert "--dry-run" in capsys.readouterr().err
