"""Chart data: downsampling keeps the ends, runs keep their colours, all six charts fill."""

import pytest

from tests.tui.conftest import recorded_events
from tui import charts, state


def view_of(name):
    view = state.RunView(name)
    for event in recorded_events():
        state.apply(view, event)
    view.name = name
    return view


@pytest.mark.parametrize("n, cap", [(0, 10), (5, 10), (1000, 37), (1000, 2)])
def test_downsample_bounds_and_keeps_ends(n, cap):
    xs = list(range(n))
    ys = [x * 2 for x in xs]
    dx, dy = charts.downsample(xs, ys, cap)
    assert len(dx) == min(n, cap)
    assert dx == sorted(dx) and all(y == 2 * x for x, y in zip(dx, dy))
    if n:
        assert dx[0] == 0 and dx[-1] == n - 1


def test_single_run_fills_every_chart():
    specs = charts.build_specs([view_of("a")], 0)
    assert [s.name for s in specs] == list(charts.CHART_NAMES)
    for spec in specs:
        assert spec.series, spec.name
    loss = next(s for s in specs if s.name == "loss")
    assert {s.label for s in loss.series} >= {"train", "val"}


def test_overlay_gives_each_run_a_stable_colour():
    views = [view_of("a"), view_of("b")]
    first = charts.build_specs(views, 0)
    again = charts.build_specs(views, 1)
    for spec_a, spec_b in zip(first, again):
        assert [(s.label, s.color) for s in spec_a.series] == [
            (s.label, s.color) for s in spec_b.series]
    sparsity = next(s for s in first if s.name == "sparsity")
    assert [s.color for s in sparsity.series] == [charts.run_color(0), charts.run_color(1)]
    assert [s.label for s in sparsity.series] == ["a", "b"]


def test_format_seconds():
    assert charts.format_seconds(42) == "42s"
    assert charts.format_seconds(185) == "3m05s"
    assert charts.format_seconds(3720) == "1h02m"
    assert charts.format_seconds(None) == "-"
