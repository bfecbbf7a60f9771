"""The comparison table: cells by hand, and its Markdown, HTML and JSON forms."""

import json
from html.parser import HTMLParser

from asap_keras.analysis import report
from asap_keras.analysis.runs import load_run
from asap_keras.child.cost import network_cost
from tests.analysis import synthetic_runs as runs_lib


def test_compact_genotype_lists_two_ops_per_node():
    # darts_v2 (Liu et al.): normal sep3 x4, then sep3@1 skip@0 and skip@0 dil3@2.
    assert report.compact_genotype(runs_lib.DARTS_V2) == (
        "normal: sep3@0 sep3@1, sep3@0 sep3@1, sep3@1 skip@0, skip@0 dil3@2 | "
        "reduce: max3@0 max3@1, skip@2 max3@1, max3@0 skip@2, skip@2 max3@1")
    partial = {**runs_lib.DARTS_V2, "normal_concat": [2, 5]}
    assert report.compact_genotype(partial).startswith(
        "normal: sep3@0 sep3@1, sep3@0 sep3@1, sep3@1 skip@0, skip@0 dil3@2 (concat [2, 5]) |")
    assert report.compact_genotype(None) == "-"


def test_format_seconds():
    assert report.format_seconds(37.04) == "37.0 s"
    assert report.format_seconds(725) == "12 min 05 s"
    assert report.format_seconds(4 * 3600 + 48 * 60 + 10) == "4 h 48 min"
    assert report.format_seconds(None) == "-"


def rows_of(runs, names):
    out = []
    for name in names:
        run = load_run(runs[name])
        cost, note = report.evaluation_cost(run)
        assert note is None
        out.append(report.run_row(run, cost))
    return out


def test_run_row_and_its_markdown_line(runs):
    (row,) = rows_of(runs, ["asap-a"])
    cost = network_cost(runs_lib.DARTS_V2, 10, (8, 8, 1), channels=36, layers=20)
    assert row["parameters_m"] == cost["parameters"] / 1e6
    assert row["multiply_adds_m"] == cost["multiply_adds"] / 1e6
    text = report.markdown_report([row], [], {"Fig. 6": "fig6.png"})
    params, macs = f"{cost['parameters'] / 1e6:.2f}", f"{cost['multiply_adds'] / 1e6:.1f}"
    assert (f"| asap-a | asap | 5 | 54.0 s | 51.0 s | 55.00 % (after final prune) | "
            f"14 / 112 | {params} | {macs} | normal: sep3@0 sep3@1, sep3@0 sep3@1, sep3@1 "
            f"skip@0, skip@0 dil3@2 \\| reduce: ") in text
    assert "![Fig. 6](fig6.png)" in text


def test_unknowns_are_dashes_and_notes_are_listed(runs):
    rows = rows_of(runs, ["darts-old", "no-epochs"])
    text = report.markdown_report(rows, ["run x: something"], {})
    lines = [line for line in text.splitlines() if line.startswith("| darts-old")
             or line.startswith("| no-epochs")]
    assert lines[0].startswith("| darts-old | darts-2nd | 2 | 21.0 s | - | 40.00 % (last epoch) "
                               "| 112 / 112 |")
    assert lines[1].startswith("| no-epochs | asap | 0 | 1.0 s | - | - | - |")
    assert "## Notes\n\n- run x: something" in text


class _Counter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1


def test_html_embeds_the_svgs_and_escapes_the_cells(runs):
    rows = rows_of(runs, ["asap-a", "darts-old"])
    svg = '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    page = report.html_report(rows, ["run <b>: note"], {"Fig. 3": svg, "Fig. 6": svg})
    counter = _Counter()
    counter.feed(page)
    assert counter.tags["tr"] == 3 and counter.tags["svg"] == 2 and counter.tags["li"] == 1
    assert "<?xml" not in page and "run &lt;b&gt;: note" in page


def test_json_holds_the_rows_and_the_series(runs):
    runs_read = [load_run(runs["asap-a"])]
    rows = rows_of(runs, ["asap-a"])
    data = json.loads(report.json_report(runs_read, rows, [], ["retrain"]))
    (run,) = data["runs"]
    assert run["search_seconds"] == 54.0 and run["final_val_accuracy_source"] == "final_prune"
    assert [e["relative_duration"] for e in run["epochs_series"]] == [0.6, 0.6, 1.0, 0.8, 0.5]
    assert run["final_prune"]["val_accuracy_before"] == 0.6
    assert data["left_out"] == ["retrain"]
    assert data["evaluation_network"] == {"channels": 36, "layers": 20, "variant": "cifar"}


def test_compact_genotype_prints_a_free_cell_edge_by_edge():
    from asap_keras.space.genotype import Genotype

    free = Genotype.free([("sep_conv_3x3", 0, 2), ("skip_connect", 0, 2),
                          ("dil_conv_5x5", 2, 4), ("max_pool_3x3", 1, 4)],
                         [("avg_pool_3x3", 1, 3)], nodes=3).to_dict()
    assert report.compact_genotype(free) == (
        "normal: sep3(0→2) skip(0→2), max3(1→4) dil5(2→4) | reduce: avg3(1→3)")
    row = {"run": "r", "method": "gold", "epochs": 1, "search_seconds": None,
           "time_to_discrete_seconds": None, "final_val_accuracy": None,
           "final_val_accuracy_source": None, "live_ops": None, "total_ops": None,
           "parameters_m": None, "multiply_adds_m": None, "genotype": free}
    assert report.format_row(row)["genotype"] == report.compact_genotype(free)
    # A malformed file's entries that are no [op, source, node] are left out, not raised.
    broken = {**free, "normal": [["sep_conv_3x3", 0], 7, [["x"], 0, 2]]}
    assert report.compact_genotype(broken).startswith("normal:  | reduce: avg3(1→3)")
