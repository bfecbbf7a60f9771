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
