"""Two lines under the header: the current epoch's progress bar, and the whole run's."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui import progress as progress_lib
from tui import state
from tui.charts import format_seconds

LABEL = 9  # "epoch 7/12" and "search" are padded to one width so the bars line up
ENDED_STYLE = {"finished": "blue", "failed": "red", "interrupted": "yellow",
               "stopped": "yellow"}


def bar_width(width: int) -> int:
    """The bars' width at a widget `width` cells wide: a fifth of it, 8 to 30 cells."""
    return max(8, min(30, width // 5))


def progress_text(view: state.RunView, now: float, width: int = 120) -> Text:
    """The two progress lines of `view` at time `now` (pure: the widget only shows it)."""
    p = progress_lib.progress(view, now)
    text = Text(no_wrap=True, overflow="ellipsis")
    if p is None:
        text.append("no event yet", style="dim")
        return text
    cells = bar_width(width)
    cap = f"/{p.epoch_cap}" if p.epoch_cap else ""
    kind = "training" if view.run_kind == "train" else "search"
    if p.ended:
        status = view.end_status or "ended"
        text.append(f"{'ended':<{LABEL}} ")
        text.append(status, style=ENDED_STYLE.get(status, ""))
        text.append(f" after {p.epochs_done}{cap} epochs", style="dim")
        if view.end_reason:
            text.append(f": {view.end_reason}", style="dim")
    else:
        text.append(f"{f'epoch {p.epoch + 1}{cap}':<{LABEL}} ")
        text.append(progress_lib.bar(p.fraction, cells), style="green")
        text.append(_epoch_detail(p))
    text.append("\n")
    text.append(f"{kind:<{LABEL}} ")
    whole = p.epochs_done / p.epoch_cap if p.epoch_cap else None
    text.append(progress_lib.bar(whole, cells), style="cyan")
    text.append(f" {p.epochs_done}{cap} epochs done")
    if not p.ended:
        text.append(_run_detail(p, view.method))
    return text


def _epoch_detail(p: progress_lib.Progress) -> str:
    if p.fraction is None:
        if p.step is not None:  # a log without steps_per_epoch
            return f" step {p.step} (steps per epoch not in the log)"
        return " waiting for the epoch's first step event"
    approx = "" if p.from_steps else "~"
    line = f" {approx}{p.fraction:.0%}"
    if p.step is not None:
        per = f"/{p.steps_per_epoch}" if p.steps_per_epoch else ""
        line += f" · step {p.step}{per}"
    if p.epoch_left is not None:
        line += f" · epoch left {approx}{format_seconds(p.epoch_left)}"
    if p.seconds_per_step is not None:
        line += f" ({p.seconds_per_step:.2f} s/step)"
    elif not p.from_steps:
        line += " (at the recent epoch duration: no step events)"
    return line


def _run_detail(p: progress_lib.Progress, method: str) -> str:
    if p.run_left is None:
        return " · time left: after the first timed epoch or step events"
    if not p.upper_bound:
        return f" · left ~{format_seconds(p.run_left)}"
    when = progress_lib.EARLY_STOP.get(method, progress_lib.DISCRETE_STOP)
    return (f" · left ≤ {format_seconds(p.run_left)} (an upper bound: {method or 'the search'}"
            f" may stop early {when})")


class RunProgress(Static):
    """`show(view, now)` redraws it; `line` holds the plain text it last showed."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.line = ""

    def show(self, view: state.RunView, now: float) -> None:
        text = progress_text(view, now, self.content_size.width or 120)
        self.line = text.plain
        self.update(text)
