"""The command line's stop handling: SIGTERM stops a run like Ctrl-C."""

import os
import signal
import time

import pytest

from asap_keras import cli


@pytest.mark.parametrize("command, hint", [("search", True), ("derive", False)])
def test_sigterm_stops_like_ctrl_c_and_the_handler_is_restored(monkeypatch, capsys, command,
                                                               hint):
    def killed(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("SIGTERM did not interrupt the command")

    monkeypatch.setattr(cli, f"_{command}", killed)
    before = signal.getsignal(signal.SIGTERM)
    argv = [command, "configs/smoke.toml"] if command == "search" else [command, "some-run"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and ("--resume RUN_DIR" in err) == hint
    assert signal.getsignal(signal.SIGTERM) is before
