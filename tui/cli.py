"""The `asap-monitor` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of `asap-monitor RUN_DIR`."""
    parser = argparse.ArgumentParser(
        prog="asap-monitor",
        description="Follow an asap-keras search (or every run below a folder) in the terminal.")
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help="a run directory, or a folder of runs (e.g. runs/)")
    parser.add_argument("--poll", type=float, default=0.5, metavar="SECONDS",
                        help="how often to read the event logs (default 0.5)")
    parser.add_argument("--export-dir", default=".", metavar="DIR",
                        help="where the 's' key writes SVG files (default: here)")
    args = parser.parse_args(argv)
    if args.poll <= 0:
        parser.error(f"--poll must be positive. Received: --poll={args.poll}")

    from tui.app import MonitorApp
    from tui.runs import RunPathError

    try:
        app = MonitorApp(args.run_dir, poll_seconds=args.poll, export_dir=args.export_dir)
    except RunPathError as err:
        print(f"asap-monitor: {err}", file=sys.stderr)
        return 2
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
