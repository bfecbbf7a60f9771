"""A plotext line chart inside a Textual widget."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from tui.charts import ChartSpec, Series, downsample, drawable

# A series' look in the legend, by marker (`charts.MARKERS`; other markers show as they are).
LEGEND_SAMPLES = {"braille": "⠤⠤", "hd": "▄▄"}
LEGEND_GAP = "   "
# The title, the plot's frame around one row of points, and the x ticks.
MIN_HEIGHT = 5
PAD_FRACTION, PAD_AROUND_ZERO, TINY = 0.1, 0.1, 1e-12


def render_chart(spec: ChartSpec, width: int, height: int) -> Text:
    """Draws `spec` with plotext at `width` x `height` cells, its legend on lines under it.

    Only drawable points reach plotext (a NaN aborts the process inside it); a chart with
    none says `spec.empty`, and a chart plotext still fails on says why instead.
    """
    if width < 20 or height < MIN_HEIGHT:
        return Text(spec.title)
    try:
        return _plot(spec, width, height)
    except Exception as err:  # a plotting bug must cost one chart, not the monitor
        return Text(f"{spec.title}\n\n  (cannot draw: {type(err).__name__}: "
                    f"{str(err)[:80]})", style="dim")


def _plot(spec: ChartSpec, width: int, height: int) -> Text:
    import plotext

    series = []
    for one in spec.series:
        xs, ys = downsample(*drawable(one.xs, one.ys), max(2, 2 * width))
        if xs:
            series.append((one, xs, ys))
    if not series:
        return Text(f"{spec.title}\n\n  ({spec.empty})", style="dim")
    # A low chart keeps its rows for the plot: its legend only goes beside the title.
    header, legend = title_and_legend(spec.title, [one for one, _, _ in series], width,
                                      height // 4 if height >= 8 else 0)
    fig = plotext.figure
    fig.clear.all()
    fig.theme("simple")
    # The title (and the legend, where it fits beside it) is drawn here, not by plotext:
    # plotext draws a legend inside the plot, where it hides points.
    fig.plot_size(width, height - 1 - len(legend))
    fig.legend(False)
    for one, xs, ys in series:
        signal = fig.signal(xs, ys, marker=plotext.marker(one.marker, one.color),
                            yside=one.yside)
        if one.lines and len(xs) > 1:
            signal.lines()
        fig.draw(signal)
    xs = [x for _, one_xs, _ in series for x in one_xs]
    if spec.x_range and spec.x_range[0] < spec.x_range[1]:
        fig.ruler(0).lim(*spec.x_range)
    else:  # one x (one epoch): plotext would span -1..1
        fig.ruler(0).lim(*padded(min(xs), max(xs), epochs=spec.x_range is not None))
    for side in ("left", "right"):
        ys = [y for one, _, one_ys in series if one.yside == side for y in one_ys]
        if ys and min(ys) == max(ys):  # one value: plotext would span -1..1
            fig.ruler(1, side).lim(*padded(ys[0], ys[0]))
    chart = header.copy()
    chart.append("\n")
    chart.append_text(Text.from_ansi(str(fig.build()).rstrip("\n"), no_wrap=True))
    for line in legend:
        chart.append("\n")
        chart.append_text(line)
    return chart


def padded(low: float, high: float, epochs: bool = False) -> tuple[float, float]:
    """`(low, high)`, or, where they are equal, a range around the value: one epoch
    either side (none below 0) for an epoch axis, else 10% of it (0.1 around 0)."""
    if high > low:
        return low, high
    if epochs:
        return (max(0.0, low - 1.0) if low >= 0 else low - 1.0), low + 1.0
    pad = abs(low) * PAD_FRACTION if abs(low) > TINY else PAD_AROUND_ZERO
    return low - pad, low + pad


def legend_sample(series: Series) -> str:
    """What a series looks like in its chart, as the legend shows it."""
    return LEGEND_SAMPLES.get(series.marker, series.marker)


def legend_entries(series: list) -> list[Text]:
    """Each labelled series' marker in its colour and its label (and which axis, if right)."""
    entries = []
    for one in series:
        if not one.label:
            continue
        r, g, b = one.color
        entry = Text(legend_sample(one), style=f"rgb({r},{g},{b})")
        entry.append(f" {one.label}")
        if one.yside == "right":
            entry.append(" (right axis)", style="dim")
        entries.append(entry)
    return entries


def title_and_legend(title: str, series: list, width: int,
                     max_lines: int) -> tuple[Text, list[Text]]:
    """The chart's title line, centred in `width`, and the legend's lines under the chart.

    The legend goes on the title line where both fit; else on lines of its own under the
    chart, wrapped to `width`, at most `max_lines` (the last cut with an ellipsis).
    """
    header = Text(fit_title(title, width), style="bold")
    entries = legend_entries(series)
    inline = Text(LEGEND_GAP).join(entries)
    lines: list[Text] = []
    if entries and header.cell_len + len(LEGEND_GAP) + inline.cell_len <= width:
        header.append(LEGEND_GAP)
        header.append_text(inline)
    else:
        for entry in entries:
            if lines and lines[-1].cell_len + len(LEGEND_GAP) + entry.cell_len <= width:
                lines[-1].append(LEGEND_GAP)
                lines[-1].append_text(entry)
            else:
                lines.append(entry)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            if lines:
                lines[-1].append(" …")
        for line in lines:
            line.truncate(width, overflow="ellipsis")
    header.pad_left(max(0, (width - header.cell_len) // 2))
    return header, lines


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
