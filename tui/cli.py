"""The `asap-monitor` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of `asap-monitor RUN_DIR`."""
    print("asap-monitor: the terminal monitor is not built yet (issue: asap-monitor); "
          "follow RUN_DIR/events.jsonl with `tail -f` meanwhile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
