"""A plotext line chart inside a Textual widget."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from tui.charts import ChartSpec, downsample, drawable


def render_chart(spec: ChartSpec, width: int, height: int) -> Text:
    """Draws `spec` with plotext at `width` x `height` cells.

    Only drawable points reach plotext (a NaN aborts the process inside it); a chart with
    none says `spec.empty`, and a chart plotext still fails on says why instead.
    """
    if width < 20 or height < 6:
        return Text(spec.title)
    try:
        return _plot(spec, width, height)
    except Exception as err:  # a plotting bug must cost one chart, not the monitor
        return Text(f"{spec.title}\n\n  (cannot draw: {type(err).__name__}: "
                    f"{str(err)[:80]})", style="dim")


def _plot(spec: ChartSpec, width: int, height: int) -> Text:
    import plotext

    fig = plotext.figure
    fig.clear.all()
    fig.theme("simple")
    fig.plot_size(width, height)
    fig.title(fit_title(spec.title, width))
    drawn = 0
    for series in spec.series:
        xs, ys = downsample(*drawable(series.xs, series.ys), max(2, 2 * width))
        if not xs:
            continue
        marker = plotext.marker(series.marker, series.color)
        signal = fig.signal(xs, ys, marker=marker, yside=series.yside)
        signal.label(series.label)
        if series.lines and len(xs) > 1:
            signal.lines()
        fig.draw(signal)
        drawn += 1
    if not drawn:
        return Text(f"{spec.title}\n\n  ({spec.empty})", style="dim")
    if spec.x_range and spec.x_range[0] < spec.x_range[1]:
        fig.ruler(0).lim(*spec.x_range)
    return Text.from_ansi(str(fig.build()), no_wrap=True)


def fit_title(title: str, width: int) -> str:
    """`title`, cut to `width` cells with an ellipsis: plotext drops a longer one whole."""
    return title if len(title) <= width else title[:max(0, width - 1)] + "…"


class Chart(Static):
    """One chart; `show(spec)` replaces its lines and redraws at the widget's size."""

    DEFAULT_CSS = "Chart { height: 1fr; }"

    def __init__(self, name: str, **kwargs):
        super().__init__("", **kwargs)
        self.chart_name = name
        self.spec = ChartSpec(name, name)

    def show(self, spec: ChartSpec) -> None:
        self.spec = spec
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        self.update(render_chart(self.spec, self.content_size.width,
                                 self.content_size.height))

    def export_svg(self, path: str, width: int = 100, height: int = 24) -> str:
        """Writes the chart as an SVG file at `width` x `height` cells; returns the path."""
        console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
        console.print(render_chart(self.spec, width, height))
        console.save_svg(path, title=self.spec.title)
        return path
