"""Figs. 3, 6 and 7: one line per run with the folded numbers, saved as valid PNG and SVG."""

import xml.etree.ElementTree as ET

import pytest

from asap_keras.analysis import figures
from asap_keras.analysis.runs import load_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def searches(runs):
    return [load_run(runs[name]) for name in ("asap-a", "asap-resumed", "darts-old",
                                               "no-epochs")]


def series(ax, kind):
    """The runs' main lines of one axes, by run index."""
    prefix = f"{figures.SERIES_GID}-{kind}-"
    return {int(line.get_gid()[len(prefix):]): line for line in ax.get_lines()
            if (line.get_gid() or "").startswith(prefix)}


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_fig3_draws_durations_and_live_fraction_with_grace_bars(searches):
    fig = figures.duration_and_sparsity(searches)
    top, bottom = fig.axes
    lines = series(top, "duration")
    assert sorted(lines) == [0, 1, 2]  # the run without epochs draws nothing
    assert list(lines[0].get_xdata()) == [0, 1, 2, 3, 4]
    assert list(lines[0].get_ydata()) == pytest.approx([0.6, 0.6, 1.0, 0.8, 0.5])
    assert list(series(bottom, "sparsity")[0].get_ydata()) == pytest.approx(
        [1, 1, .5, .25, .125])
    # One grace bar per run with grace epochs (asap-a: 0-1, asap-resumed: 0; DARTS: none).
    bars = [c.get_segments()[0] for c in top.collections]
    assert [(seg[0][0], seg[1][0]) for seg in bars] == [(-0.35, 1.35), (-0.35, 0.35)]
    assert all(seg[0][1] < 0 for seg in bars)  # below the data
    assert legend_texts(top) == ["asap-a (asap)", "asap-resumed (asap)",
                                 "darts-old (darts-2nd)",
                                 figures.GRACE_LABEL]
    assert top.get_ylabel().startswith("relative epoch duration")
    assert bottom.get_xlabel() == "epoch"
    # Each run keeps its colour and marker.
    assert lines[1].get_color() == series(bottom, "sparsity")[1].get_color()
    assert len({line.get_marker() for line in lines.values()}) == 3


def test_fig6_joins_the_final_prune_after_the_last_epoch_with_a_dashed_segment(searches):
    fig = figures.validation_accuracy(searches)
    (ax,) = fig.axes
    lines = series(ax, "accuracy")
    assert list(lines[0].get_ydata()) == pytest.approx([.2, .3, .4, .5, .6])
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert [(list(s.get_xdata()), list(s.get_ydata())) for s in stars] == [
        ([5], [0.55]), ([4], [0.48])]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [(list(d.get_xdata()), list(d.get_ydata())) for d in dashed] == [
        ([4, 5], [0.6, 0.55]), ([3, 4], [0.5, 0.48])]
    assert "darts-old (darts-2nd), no final prune logged" in legend_texts(ax)
    assert "after the final prune" in legend_texts(ax)


def test_fig7_draws_the_mean_entropy_and_each_cell_type_dotted(searches):
    fig = figures.cell_entropy(searches)
    (ax,) = fig.axes
    lines = series(ax, "entropy")
    assert list(lines[0].get_ydata()) == pytest.approx([1, .8, .4, .15, 0])
    per_type = [line for line in ax.get_lines() if line.get_gid() is None
                and line.get_linestyle() in (":", "-.")]
    assert len(per_type) == 2 * 3  # normal and reduce for each run with epochs
    assert {"normal cells", "reduce cells"} <= set(legend_texts(ax))


def test_saved_figures_are_valid_png_and_svg_with_one_series_per_run(searches, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for stem, draw in figures.FIGURES.items():
        paths = figures.save_figure(draw(searches), out, stem)
        assert paths["png"].read_bytes()[:8] == PNG_SIGNATURE
        root = ET.parse(paths["svg"]).getroot()
        assert root.tag.endswith("svg")
        ids = {el.get("id") for el in root.iter() if (el.get("id") or "").startswith("series")}
        assert len(ids) == (6 if stem.startswith("fig3") else 3)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}.{ext}" for stem in figures.FIGURES for ext in ("png", "svg"))


def test_figures_without_epochs_say_so(runs):
    fig = figures.validation_accuracy([load_run(runs["no-epochs"])])
    assert figures.NO_DATA in [t.get_text() for t in fig.texts]
