"""The help screen: what the monitor shows and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]asap-monitor[/b] follows a search's events.jsonl (live, finished or copied runs).

[b]Keys[/b]
  q        quit
  ?        this help (escape closes it)
  c        toggle the normal / reduction cell
  f        follow / pause (paused: the view stays put while the log is still read)
  n / p    next / previous run (several runs: charts overlay them, one colour each)
  s        save the screen as SVG, and each chart as its own SVG file

[b]Charts[/b]  sparsity = pruned fraction of all ops; entropy = mean normalized entropy of the
op distributions (1 = uniform, 0 = one op); T anneals as T0 * beta^epoch and an op is pruned
once its weight falls below theta = 0.4 / N. 'left' is the time to the epoch cap at the recent
pace; ASAP stops earlier when every edge is down to one op.

[b]Cell[/b]  each node lists its incoming edges; ops strongest first with their weights;
pruned ops struck through and dimmed; the current top-2 genotype edges in green.

[b]Status[/b]  running, finished, stopped, failed, or stale (no event for more than three
typical epochs); waiting when no log exists yet.
"""


class HelpScreen(ModalScreen):
    """A modal with the help text; any of escape, q or ? closes it."""

    BINDINGS = [("escape", "close", "Close"), ("q", "close", "Close"),
                ("question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(HELP, id="help-text")

    def action_close(self) -> None:
        self.dismiss()
