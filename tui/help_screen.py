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

[b]Charts[/b]  sparsity = pruned fraction of all ops, with the supernet's multiply-adds \
(MAdds) on the right where the log has them; entropy = mean normalized entropy of the op \
distributions Phi (1 = uniform, 0 = one op), or, for GOLD and NAP, whose op weights w are \
no distribution, of |w| / sum |w| per edge. ASAP anneals T as T0 * beta^epoch and prunes an \
op once its weight falls below theta = 0.4 / N. 'left' is the time to the epoch cap at the \
recent pace; ASAP stops earlier when every edge is down to one op. GOLD runs add a Pareto \
chart: each epoch's cell by the multiply-adds of its evaluation network and the search's \
validation accuracy, the front (cells no other beats on both) joined by a line, dominated \
cells as dots; the header shows the front's size out of the records, the supernet's MAdds \
and GOLD's penalty weight lambda.

[b]Cell[/b]  each node lists its incoming edges; ops strongest first with their weights \
(Phi; or w: GOLD's sigmoid gates, NAP's alphas, which may be negative or above 1); pruned \
ops struck through and dimmed. The current genotype's ops are green and their edges \
marked: DARTS cells keep the top-2 incoming edges of each node, one op each; free cells \
(topology "free", with GOLD or NAP) keep any number of ops per edge and edges per node, \
and a node may be dead.

[b]Status[/b]  running, finished, stopped, failed, or stale (no event for more than three \
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
