"""The header line: run name, status, epoch, elapsed time (and the step graphs traced in
it), follow state, log problems."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui import pareto, state
from tui.charts import format_madds, format_seconds

STATUS_STYLES = {"running": "bold green", "finished": "bold blue", "stopped": "bold yellow",
                 "failed": "bold red", "interrupted": "bold yellow", "stale": "bold magenta",
                 "waiting": "dim"}
REASON_CHARS = 120


def header_text(view: state.RunView, now: float, following: bool) -> Text:
    """The header of `view` at time `now` (pure: the widget only shows it)."""
    status = state.status(view, now)
    text = Text()
    text.append(f" {view.name} ", style="bold reverse")
    text.append(f" {status} ", style=STATUS_STYLES.get(status, ""))
    if view.diverged:
        # The epoch as the log and the charts' x axis number it.
        text.append(f" diverged at epoch {view.diverged_at} ", style="bold white on red")
    if view.method:
        text.append(f" {view.method}", style="bold")
    if view.last_epoch is not None:
        cap = f"/{view.epoch_cap}" if view.epoch_cap else ""
        text.append(f" epoch {view.last_epoch + 1}{cap}")
    if view.step and view.end_status is None:
        per = f"/{view.steps_per_epoch}" if view.steps_per_epoch else ""
        text.append(f" · step {view.step[1]}{per} of epoch {view.step[0] + 1}")
    text.append(f" · elapsed {format_seconds(state.elapsed(view, now))}")
    if view.traces:
        text.append(f" ({view.traces} graph traces {format_seconds(view.trace_seconds)})")
    points = view.points()
    if points and points[-1].live_ops is not None:
        text.append(_search_numbers(points[-1]))
    if view.pareto:
        text.append(f" · Pareto front {len(pareto.front(view.pareto_points()))}"
                    f"/{len(view.pareto)}")
    if view.final_prune:
        before, after = view.final_prune["before"], view.final_prune["after"]
        text.append(f" · final prune: val acc {_fixed(before, '?')} -> {_fixed(after, '?')}")
    if view.end_reason and view.end_status:
        reason = view.end_reason
        reason = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS - 3] + "..."
        text.append(f" · {reason}", style="dim")
    if view.errors:
        text.append(f" · {len(view.errors)} bad log line(s) skipped", style="bold red")
    if not view.log_found:
        text.append(f"  no events.jsonl in {view.path} yet: waiting for the search to "
                    f"write it", style="yellow")
    if not following:
        text.append("  [paused]", style="bold yellow")
    return text


def _search_numbers(last: state.EpochPoint) -> str:
    """Live ops; T where the weights are Phi (GOLD and NAP hold T at 1); the supernet's
    multiply-adds and GOLD's lambda where the log has them."""
    line = f" · live ops {last.live_ops}/{last.total_ops}"
    if last.weights_are_distribution:
        line += f" · T {_fixed(last.temperature)}"
    if last.supernet_madds is not None:
        line += f" · supernet MAdds {format_madds(last.supernet_madds)}"
    if last.resource_weight is not None:
        line += f" · λ {last.resource_weight:.2g}"
    return line


def _fixed(value: float | None, missing: str = "null") -> str:
    return missing if value is None else f"{value:.3f}"


class RunHeader(Static):
    """`show(view, now, following)` redraws it; `status` holds what it last showed."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.status = "waiting"
        self.line = ""

    def show(self, view: state.RunView, now: float, following: bool) -> None:
        self.status = state.status(view, now)
        text = header_text(view, now, following)
        self.line = text.plain
        self.update(text)
