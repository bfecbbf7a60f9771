"""The help screen: what the monitor shows and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]asap-monitor[/b] follows a search's or a retraining run's events.jsonl (live, finished \
or copied runs).

[b]Keys[/b]
  q        quit
  ?        this help (escape closes it)
  c        toggle the normal / reduction cell
  g        the cell as a graph / as a list of edges
  ← / →    step the cell back / forward through past epochs (Home: the first epoch)
  l        back to the live epoch
  f        follow / pause (paused: the view stays put while the log is still read)
  n / p    next / previous run (several runs: charts overlay them, one colour each)
  s        save the screen as SVG, and each chart as its own SVG file

[b]Progress[/b]  the current epoch's bar from its step events (step / steps per epoch) \
and its time left: the remaining steps at the epoch's step rate plus what recent epochs \
spent beyond their steps (validation, rebuilds); without step events (retraining runs) it \
is estimated from the recent epoch duration and marked ~. The run's bar counts epochs \
done; its time left adds the remaining epochs at the recent epoch duration, an upper \
bound (≤) for searches that may stop early (ASAP once every edge is discrete, GOLD at its \
multiply-adds floor).

[b]Charts[/b]  a legend sits beside its chart's title where it fits, else on a line \
under the chart, never over the points (the right axis' series say so). \
sparsity = pruned fraction of all ops, with the supernet's multiply-adds (MAdds) on the \
right where the log has them; entropy = mean normalized entropy of the op distributions \
Phi (1 = uniform, 0 = one op), or, for GOLD and NAP, whose op weights w are no \
distribution, of |w| / sum |w| per edge. ASAP anneals T as T0 * beta^epoch and prunes an \
op once its weight falls below theta = 0.4 / N. GOLD runs add a Pareto chart: each \
epoch's cell by the multiply-adds of its evaluation network and the search's validation \
accuracy, the front joined by a line, dominated cells as dots. A retraining run shows its \
learning rate and drop-path probability instead of the search's charts.

[b]Cell[/b]  the graph: boxes for c_{k-2}, c_{k-1}, the nodes 0.. and c_{k}; a line runs \
down from each box, and the label where it crosses node j's row is that edge's op over \
its weight (Phi; or w: GOLD's sigmoid gates, NAP's alphas); green: the genotype's ops \
(DARTS cells keep 2 edges a node; free cells any number, + where an edge keeps more than \
one); sep3⁵: the strongest of 5 alive ops. The list (g): each node's incoming edges, ops \
strongest first, pruned ops struck through. ← / → show a past epoch's weights, masks and \
genotype, marked "history, not live"; epochs are numbered as in the log and on the \
charts' x axis (from 0).

[b]Runs[/b]  with a folder of runs, the list gives each run's status (running, finished, \
failed, interrupted, or stale: no event for more than three typical epochs), epochs \
done, best validation accuracy and the time since its last event.
"""


class HelpScreen(ModalScreen):
    """A modal with the help text; any of escape, q or ? closes it."""

    BINDINGS = [("escape", "close", "Close"), ("q", "close", "Close"),
                ("question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):  # taller than a small terminal
            yield Static(HELP, id="help-text")

    def action_close(self) -> None:
        self.dismiss()
