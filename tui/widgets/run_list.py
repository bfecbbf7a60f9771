"""The list of monitored runs, each in its chart colour, with its status and numbers."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import OptionList

from tui import state
from tui.charts import format_seconds, run_color
from tui.widgets.run_header import STATUS_STYLES


@dataclass(frozen=True)
class RunSummary:
    """What the run list says of one run.

    Attributes:
        name: the run's name.
        status: `state.status` (running, finished, failed, interrupted, stale, ...).
        epochs_done: epochs logged (the last logged epoch + 1; 0 before one).
        epoch_cap: the configured epochs, or None.
        best_val_accuracy: the highest `val_accuracy` of any epoch, or None.
        since_last_event: seconds since the run's last event, or None before one.
    """

    name: str
    status: str
    epochs_done: int
    epoch_cap: int | None
    best_val_accuracy: float | None
    since_last_event: float | None


def summarize(view: state.RunView, now: float) -> RunSummary:
    """The run list's numbers of `view` at time `now`."""
    accuracies = state.metric_series(view, "val_accuracy")[1]
    since = None if view.last_event is None else max(0.0, now - view.last_event)
    return RunSummary(view.name, state.status(view, now),
                      0 if view.last_epoch is None else view.last_epoch + 1, view.epoch_cap,
                      max(accuracies) if accuracies else None, since)


def run_label(summary: RunSummary, index: int, width: int = 0) -> Text:
    """Two lines: the run's colour and name; its status, epochs done, best val accuracy and
    the time since its last event, in short words where `width` (if given) is too narrow."""
    r, g, b = run_color(index)
    label = Text("■ ", style=f"rgb({r},{g},{b})")
    label.append(summary.name)
    label.append("\n  ")
    label.append(summary.status, style=STATUS_STYLES.get(summary.status, ""))
    cap = f"/{summary.epoch_cap}" if summary.epoch_cap else ""
    best = ("-" if summary.best_val_accuracy is None
            else f"{summary.best_val_accuracy:.3f}")
    ago = (None if summary.since_last_event is None
           else format_seconds(summary.since_last_event))
    line = (f" · epoch {summary.epochs_done}{cap} · best val acc {best} · "
            + ("no event yet" if ago is None else f"last event {ago} ago"))
    if width and 2 + len(summary.status) + len(line) > width:
        line = (f" {summary.epochs_done}{cap} · val {best} · "
                + ("no event" if ago is None else f"{ago} ago"))
    label.append(line, style="dim")
    return label


class RunList(OptionList):
    """`show(views, now)` refreshes the labels; the highlighted option is the current run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summaries: list[RunSummary] = []

    def show(self, views: list, now: float, selected: int) -> None:
        self.summaries = [summarize(view, now) for view in views]
        width = self.scrollable_content_region.width
        labels = [run_label(s, index, width) for index, s in enumerate(self.summaries)]
        if self.option_count != len(labels):
            self.clear_options()
            self.add_options(labels)
        else:
            for index, label in enumerate(labels):
                self.replace_option_prompt_at_index(index, label)
        if self.highlighted != selected:
            self.highlighted = selected
