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
    # An ASAP log has no Pareto records, and no learning rate or drop path (a search's).
    assert [s.name for s in specs if not s.shown] == ["learning_rate", "drop_path", "pareto"]
    for spec in specs:
        assert bool(spec.series) == spec.shown, spec.name
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


def _view_with(values):
    """A run whose epoch i has loss, T and seconds `values[i]` (set directly, not decoded)."""
    view = state.RunView("r")
    for i, v in enumerate(values):
        view.epochs[i] = state.EpochPoint(i, v, 0.1, 0.5, {"normal": v}, {"loss": v}, v, 4, 8)
    return view


def test_only_drawable_points_reach_a_series():
    nan, inf = float("nan"), float("inf")
    view = _view_with([1.0, nan, inf, -inf, 1e308, None, 2.0, -1e300])
    specs = {s.name: s for s in charts.build_specs([view], 0)}
    for name in ("loss", "temperature", "entropy", "epoch_time"):
        first = specs[name].series[0]
        assert (first.xs, first.ys) == ([0, 6, 7], [1.0, 2.0, -1e300]), name


def test_a_series_without_a_drawable_point_is_left_out_and_the_chart_says_so():
    view = _view_with([float("nan"), None, 1e301])
    specs = {s.name: s for s in charts.build_specs([view], 0)}
    assert not specs["loss"].series and specs["loss"].empty == charts.NO_FINITE_VALUE
    assert specs["sparsity"].series, "sparsity stays finite"
    assert charts.build_specs([state.RunView("r")], 0)[0].empty == charts.NO_EPOCH_YET


@pytest.mark.parametrize("value, drawable", [
    (0, True), (-2.5, True), (1e300, True), (-1e300, True), (1e301, False),
    (float("nan"), False), (float("inf"), False), (None, False), (True, False),
    ("1", False), (10**400, False)])
def test_is_drawable(value, drawable):
    assert charts.is_drawable(value) is drawable


@pytest.mark.parametrize("ys", [
    [1.0, float("nan"), 2.0],  # a NaN aborted the process inside plotext (SIGABRT)
    [1.0, float("inf")],
    [1e308, -1e308],  # finite, but the range overflows: plotext raised
    [float("nan")] * 3,
    [0.5],
])
def test_render_chart_never_hands_plotext_an_undrawable_value(ys):
    from tui.widgets.chart import render_chart

    spec = charts.ChartSpec("loss", "loss", [charts.Series("train", list(range(len(ys))), ys,
                                                           charts.run_color(0))])
    text = render_chart(spec, 60, 16).plain
    if any(charts.is_drawable(y) for y in ys):
        assert "train" in text and "cannot draw" not in text
    else:
        assert spec.empty in text


def test_format_seconds_of_a_non_finite_time():
    assert charts.format_seconds(float("inf")) == "-"
    assert charts.format_seconds(float("nan")) == "-"


def test_every_chart_spans_the_runs_epochs_so_a_stopped_line_shows_where():
    from tui.widgets.chart import render_chart

    view = _view_with([1.0, None, None])  # diverged after epoch 0: a single finite point
    specs = {s.name: s for s in charts.build_specs([view], 0)}
    by_epoch = {name: spec for name, spec in specs.items() if name != "pareto"}
    assert {s.x_range for s in by_epoch.values()} == {(0, 2)}
    assert specs["pareto"].x_range is None, "its x axis is multiply-adds"
    lines = render_chart(specs["loss"], 60, 14).plain.splitlines()
    axis = lines[next(i for i, line in enumerate(lines) if "└" in line) + 1]  # the ticks
    ticks = [float(tick) for tick in axis.split()]
    assert (min(ticks), max(ticks)) == (0.0, 2.0)
