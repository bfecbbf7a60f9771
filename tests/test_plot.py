"""`asap-keras plot`: the DOT drawn for a genotype has exactly its nodes and edges."""

import re
import shutil
import subprocess
import sys

import pytest

from asap_keras.child.genotypes import BUILT_IN
from asap_keras.cli import main
from asap_keras.errors import AsapError
from asap_keras.plot import cell_dot, plot
from asap_keras.space.genotype import Genotype

DARTS_V2 = BUILT_IN["darts_v2"]

EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[label="(\w+)".*)?', re.M)

# A cell whose wiring is obvious by hand: node 0 <- inputs, node 1 <- node 0 twice, etc.
HAND = Genotype(
    normal=[("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 2), ("sep_conv_5x5", 2),
            ("dil_conv_3x3", 3), ("avg_pool_3x3", 0), ("skip_connect", 4), ("sep_conv_3x3", 1)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("skip_connect", 2), ("skip_connect", 3), ("sep_conv_3x3", 4), ("skip_connect", 0)],
    reduce_concat=[2, 3, 4, 5])


def edges(dot: str) -> list[tuple[str, str, str | None]]:
    return [match.groups() for match in EDGE.finditer(dot)]


def test_normal_cell_edges_are_the_genotypes_by_hand():
    got = edges(cell_dot(HAND, ("normal",)))
    op_edges = sorted(e for e in got if e[2] is not None)
    assert op_edges == sorted([
        ("n_in0", "n_0", "sep_conv_3x3"), ("n_in1", "n_0", "skip_connect"),
        ("n_0", "n_1", "max_pool_3x3"), ("n_0", "n_1", "sep_conv_5x5"),
        ("n_1", "n_2", "dil_conv_3x3"), ("n_in0", "n_2", "avg_pool_3x3"),
        ("n_2", "n_3", "skip_connect"), ("n_in1", "n_3", "sep_conv_3x3")])
    concat = sorted(e[0] for e in got if e[1] == "n_out")
    assert concat == ["n_0", "n_1", "n_2", "n_3"]


def test_both_cells_are_separate_clusters():
    dot = cell_dot(HAND)
    assert dot.count("subgraph cluster_") == 2
    assert {e[0][0] for e in edges(dot)} == {"n", "r"}
    assert len([e for e in edges(dot) if e[2]]) == 16


def test_dot_out_writes_the_source(tmp_path):
    path, note = plot(DARTS_V2, tmp_path / "cell.dot")
    assert path == tmp_path / "cell.dot" and note == ""
    assert path.read_text() == cell_dot(DARTS_V2)


def test_unknown_format_names_the_value(tmp_path):
    with pytest.raises(AsapError, match=r"cell\.gif"):
        plot(DARTS_V2, tmp_path / "cell.gif")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="graphviz is installed here")
def test_without_graphviz_an_image_falls_back_to_dot(tmp_path):
    path, note = plot(DARTS_V2, tmp_path / "cell.svg")
    assert path == tmp_path / "cell.dot" and path.is_file()
    assert "dot -Tsvg" in note and not (tmp_path / "cell.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_graphviz_renders_svg(tmp_path):
    path, _ = plot(HAND, tmp_path / "cell.svg")
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "sep_conv_5x5" in text


def test_cli_plots_a_run_directory_without_tensorflow(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "genotype.json").write_text(HAND.to_json())
    out = tmp_path / "cell.dot"
    code = ("import sys; from asap_keras.cli import main; rc = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules, 'plot imported TensorFlow'; "
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "plot", str(run), "--out", str(out),
                           "--cell", "normal"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(out)
    assert "cluster_normal" in out.read_text() and "cluster_reduce" not in out.read_text()


def test_cli_refuses_a_missing_genotype(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nothing.json"), "--out", str(tmp_path / "c.dot")]) == 2
    assert "nothing.json" in capsys.readouterr().err


# Normal: two ops on the edge c_{k-1} -> node 0, node 1 dead (no input, so the edge 3 -> 4
# is dropped too), node 3 read from node 0; c_{k-2} unread.
FREE = Genotype.free(
    normal=[("sep_conv_3x3", 1, 2), ("max_pool_3x3", 1, 2), ("skip_connect", 3, 4),
            ("dil_conv_3x3", 2, 5)],
    reduce=[("avg_pool_3x3", 0, 2)], nodes=4)


def test_a_free_cell_draws_parallel_edges_and_no_dead_node():
    dot = cell_dot(FREE, ("normal",))
    got = edges(dot)
    assert sorted(e for e in got if e[2] is not None) == sorted([
        ("n_in1", "n_0", "sep_conv_3x3"), ("n_in1", "n_0", "max_pool_3x3"),
        ("n_0", "n_3", "dil_conv_3x3")])
    assert sorted(e[0] for e in got if e[1] == "n_out") == ["n_0", "n_3"]
    declared = re.findall(r"^\s*(n_\w+) \[label", dot, re.M)
    assert declared == ["n_in0", "n_in1", "n_0", "n_3", "n_out"]  # nodes 1 and 2 are dead


def test_cli_plots_entry_k_of_a_pareto_list(tmp_path):
    import json

    pareto = tmp_path / "pareto.json"
    pareto.write_text(json.dumps([{"genotype": HAND.to_dict(), "epoch": 3},
                                  {"genotype": FREE.to_dict(), "epoch": 5}]))
    out = tmp_path / "cell.dot"
    assert main(["plot", f"{pareto}#1", "--out", str(out)]) == 0
    assert out.read_text() == cell_dot(FREE)
