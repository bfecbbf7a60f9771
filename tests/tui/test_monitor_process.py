"""The real `asap-monitor` in a pseudo-terminal, on a diverged log: it must not abort.

A NaN that reached plotext aborted the whole process (SIGABRT, exit 134, no traceback), which
no in-process test can catch: this one runs the installed command as a user would.
"""

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

from tests.tui.test_app_diverged import DIVERGED_FROM, diverged_log_with_bad_lines

ROWS, COLUMNS = 50, 160
SHOWN_WITHIN = 30.0  # seconds to the first screen with the header, on a loaded machine
RUN_SECONDS = 2.0  # then it must keep running (redraws, the clock tick) this long


def monitor_command(run_dir) -> list[str]:
    installed = shutil.which("asap-monitor")
    return ([installed] if installed else [sys.executable, "-m", "tui.cli"]) + [
        str(run_dir), "--poll", "0.1"]


def run_in_terminal(argv, expected, cwd):
    """Runs `argv` on a pty until `expected` is shown and `RUN_SECONDS` more, then presses
    `q`; returns (alive then, exit code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS),
           "LINES": str(ROWS)}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True)
    os.close(slave)
    output = bytearray()

    def pump(until, stop_at=None):
        while time.monotonic() < until and proc.poll() is None:
            if stop_at and stop_at.encode() in output:
                return
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    output.extend(os.read(master, 1 << 16))
                except OSError:  # the child closed the terminal
                    return

    try:
        pump(time.monotonic() + SHOWN_WITHIN, stop_at=expected)
        pump(time.monotonic() + RUN_SECONDS)
        alive = proc.poll() is None
        if alive:
            os.write(master, b"q")
            pump(time.monotonic() + 15)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
    finally:
        os.close(master)
    return alive, code, output.decode("utf-8", "replace")


def test_asap_monitor_on_a_diverged_log_runs_and_quits_cleanly(tmp_path):
    run = tmp_path / "diverged"
    run.mkdir()
    head, tail = diverged_log_with_bad_lines()
    (run / "events.jsonl").write_text("".join(head + tail))
    expected = f"diverged at epoch {DIVERGED_FROM}"
    alive, code, output = run_in_terminal(monitor_command(run), expected, tmp_path)
    assert code not in (134, -signal.SIGABRT), "aborted (plotext on a NaN?)"
    assert alive, f"exited early with {code}: {output[-2000:]}"
    assert code == 0, output[-2000:]
    assert expected in output
