"""The list of monitored runs, each in its chart colour, with its status."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList

from tui import state
from tui.charts import run_color


class RunList(OptionList):
    """`show(views, now)` refreshes the labels; the highlighted option is the current run."""

    def show(self, views: list, now: float, selected: int) -> None:
        labels = []
        for index, view in enumerate(views):
            r, g, b = run_color(index)
            label = Text("■ ", style=f"rgb({r},{g},{b})")
            label.append(view.name)
            label.append(f"  {state.status(view, now)}", style="dim")
            labels.append(label)
        if self.option_count != len(labels):
            self.clear_options()
            self.add_options(labels)
        else:
            for index, label in enumerate(labels):
                self.replace_option_prompt_at_index(index, label)
        if self.highlighted != selected:
            self.highlighted = selected
