"""The accuracy vs multiply-adds figure: one point per cell and per record, the front's line."""

import json

import pytest

from asap_keras.analysis import pareto_figure
from asap_keras.analysis.compare import compare_runs
from asap_keras.analysis.runs import load_run
from tests.analysis import synthetic_runs as runs_lib

ORDER = ("gold-a", "asap-b", "no-size", "gold-file")  # run indices 0..3
CELL_X = runs_lib.POOL_CELL_MADDS / 1e6


@pytest.fixture
def searches(pareto_runs):
    return [load_run(pareto_runs[name]) for name in ORDER]


def by_gid(ax, prefix):
    """The axes' lines whose gid is `<prefix>-<run index>`, by run index."""
    return {int(line.get_gid().rsplit("-", 1)[1]): line for line in ax.get_lines()
            if (line.get_gid() or "").rsplit("-", 1)[0] == prefix}


def xy(line):
    return list(line.get_xdata()), list(line.get_ydata())


def test_one_point_per_cell_and_per_record_and_the_front_through_the_undominated(searches):
    (ax,) = pareto_figure.accuracy_vs_madds(searches).axes
    cells = by_gid(ax, pareto_figure.CELL_GID)
    dominated = by_gid(ax, pareto_figure.RECORDS_GID)
    fronts = by_gid(ax, pareto_figure.FRONT_GID)
    # "no-size" (2) lacks its cost: no cell; every other run is one point at its accuracy.
    assert sorted(cells) == [0, 1, 3]
    assert xy(cells[0]) == ([CELL_X], [0.58])
    assert xy(cells[1]) == ([CELL_X], [0.45])
    assert xy(cells[3]) == ([CELL_X], [0.36])
    # The front's step line has a vertex at each non-dominated record and at no other.
    assert xy(fronts[0]) == pytest.approx(([2.0, 3.0, 4.0], [0.40, 0.55, 0.60]))
    assert fronts[0].get_drawstyle() == "steps-post"
    assert xy(dominated[0]) == pytest.approx(([5.0, 3.5], [0.50, 0.52]))
    assert xy(fronts[3]) == pytest.approx(([1.0, 1.5], [0.3, 0.35]))
    assert 3 not in dominated
    # A run without Pareto data has only its cell.
    assert 1 not in dominated and 1 not in fronts
    drawn = sum(len(line.get_xdata()) for group in (cells, dominated, fronts)
                for line in group.values())
    assert drawn == 3 + len(runs_lib.GOLD_RECORDS) + len(runs_lib.GOLD_FILE_ENTRIES)
    # One run colour throughout.
    assert cells[0].get_color() == fronts[0].get_color() == dominated[0].get_mec()
    assert ax.get_xlabel().startswith("multiply-adds per image (millions)")
    assert "(3 cells, C=4)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.texts] == ["gold-a", "asap-b", "gold-file"]


def test_runs_with_nothing_to_place_draw_the_no_data_text(searches):
    def texts(runs):
        return [t.get_text() for t in pareto_figure.accuracy_vs_madds(runs).texts]

    assert pareto_figure.NO_DATA in texts(searches[2:3])  # no-size alone
    assert pareto_figure.NO_DATA not in texts(searches)


def test_compare_writes_the_figure_references_it_and_lists_the_fronts(pareto_runs, tmp_path):
    out = tmp_path / "out"
    written, notes = compare_runs([pareto_runs[name] for name in ORDER], out)
    stem = pareto_figure.STEM
    assert {out / f"{stem}.png", out / f"{stem}.svg"} <= set(written)
    assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"]({stem}.png)" in (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 4 and "Validation accuracy vs multiply-adds" in page
    assert [n for n in notes if n.startswith("run no-size")] == [
        "run no-size: its cell is not in the accuracy vs multiply-adds figure: no search "
        "network size (space.cells, space.channels) in its run_start or config.resolved.toml"]
    data = json.loads((out / "compare.json").read_text())
    assert [f["name"] for f in data["figures"]][-1] == stem
    assert data["figures"][-1]["png"] == f"{stem}.png"
    runs = {r["run"]: r for r in data["runs"]}
    assert runs["gold-a"]["pareto_front"] == runs_lib.GOLD_A_FRONT
    assert runs["gold-file"]["pareto_front"] == runs_lib.GOLD_FILE_ENTRIES
    assert runs["asap-b"]["pareto_front"] == [] and runs["asap-b"]["pareto_source"] is None
    # The table costs the cell in the paper's 20-cell, C=36 network; the figure at the
    # search network's size, as the records.
    gold = runs["gold-a"]
    assert gold["search_size_cost"]["multiply_adds"] == runs_lib.POOL_CELL_MADDS
    assert gold["multiply_adds_m"] > 10 * CELL_X
