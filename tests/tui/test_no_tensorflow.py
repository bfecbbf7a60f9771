"""The monitor runs without TensorFlow or Keras: checked in a fresh interpreter."""

import json
import subprocess
import sys

from tests.tui.conftest import RECORDED

SCRIPT = """
import asyncio, json, shutil, sys, tempfile, pathlib
from tui.app import MonitorApp
import tui.cli
run = pathlib.Path(tempfile.mkdtemp()) / "run"
run.mkdir()
shutil.copy(sys.argv[1], run / "events.jsonl")

async def main():
    app = MonitorApp(run, poll_seconds=0.05, export_dir=run)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(100):
            if app.view.end_status:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        await pilot.press("c")
    return app.view.end_status

status = asyncio.run(main())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print(json.dumps({"status": status, "heavy": heavy}))
"""


def test_monitor_imports_neither_tensorflow_nor_keras():
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(RECORDED)], capture_output=True,
                         text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"status": "finished", "heavy": []}
