"""The comparison table of search runs, written as Markdown, a self-contained HTML page and JSON."""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict

from asap_keras.analysis.series import (
    FINAL_PRUNE,
    RunSeries,
    end_ops,
    final_accuracy,
    relative_durations,
    search_seconds,
    time_to_discrete,
)
from asap_keras.child.cost import network_cost
from asap_keras.errors import ConfigError, GenotypeError
from asap_keras.space.topology import FREE

# The paper's CIFAR evaluation network (Sec. 4.2): the size each derived cell is costed at.
EVALUATION_NETWORK = {"channels": 36, "layers": 20, "variant": "cifar"}
COLUMNS = {
    "run": "run", "method": "method", "epochs": "epochs",
    "search_seconds": "search wall time", "time_to_discrete_seconds": "time to discrete",
    "final_val_accuracy": "final val. accuracy", "live_ops": "live ops at the end",
    "parameters_m": "params (M)", "multiply_adds_m": "mult-adds (M)", "genotype": "genotype",
}
SHORT_OPS = {"none": "none", "skip_connect": "skip", "max_pool_3x3": "max3",
             "avg_pool_3x3": "avg3", "sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5",
             "sep_conv_7x7": "sep7", "dil_conv_3x3": "dil3", "dil_conv_5x5": "dil5"}


def evaluation_cost(run: RunSeries) -> tuple[dict | None, str | None]:
    """`network_cost` of the run's cell in the paper's evaluation network, or a note why not."""
    if run.genotype is None or run.image_shape is None or run.num_classes is None:
        return None, None  # `runs.gaps` already says what is missing
    try:
        return network_cost(run.genotype, run.num_classes, list(run.image_shape),
                            **EVALUATION_NETWORK), None
    except (GenotypeError, ConfigError) as err:
        return None, f"run {run.name}: the cell ({run.genotype_source}) cannot be costed: {err}"


def run_row(run: RunSeries, cost: dict | None) -> dict:
    """The table's numbers for one run (None where unknown)."""
    accuracy, source = final_accuracy(run)
    live, total = end_ops(run)
    return {
        "run": run.name, "method": run.method or "unknown", "epochs": len(run.epochs),
        "search_seconds": search_seconds(run),
        "time_to_discrete_seconds": time_to_discrete(run),
        "final_val_accuracy": accuracy, "final_val_accuracy_source": source,
        "live_ops": live, "total_ops": total,
        "parameters_m": None if cost is None else cost["parameters"] / 1e6,
        "multiply_adds_m": None if cost is None else cost["multiply_adds"] / 1e6,
        "genotype": run.genotype, "genotype_source": run.genotype_source,
    }


def compact_genotype(genotype: dict | None) -> str:
    """One line per genotype dict, either topology.

    DARTS: `normal: sep3@0 sep3@1, ... | reduce: max3@0 ...`, two `op@source` per node.
    Free: `normal: sep3(0→2) skip(0→2), dil3(2→5) | reduce: ...`, each node's edges as
    `op(source→node)`; its concat is always its live nodes, so it is not printed.
    """
    if not genotype:
        return "-"
    if genotype.get("topology") == FREE:
        return " | ".join(f"{cell}: {_free_cell(genotype.get(cell) or [])}"
                          for cell in ("normal", "reduce"))
    parts = []
    for cell in ("normal", "reduce"):
        pairs = genotype.get(cell) or []
        nodes = [" ".join(f"{SHORT_OPS.get(op, op)}@{src}" for op, src in pairs[i:i + 2])
                 for i in range(0, len(pairs), 2)]
        concat = list(genotype.get(f"{cell}_concat") or [])
        kept = "" if concat == list(range(2, len(nodes) + 2)) else f" (concat {concat})"
        parts.append(f"{cell}: {', '.join(nodes)}{kept}")
    return " | ".join(parts)


def _free_cell(edges: list) -> str:
    """A free cell's `[op, source, node]` triples, grouped by node (`compact_genotype`)."""
    nodes: dict = {}
    for edge in edges:
        if (isinstance(edge, list) and len(edge) == 3 and isinstance(edge[0], str)
                and isinstance(edge[2], int)):
            op, src, dst = edge  # a malformed file's other entries are not shown
            nodes.setdefault(dst, []).append(f"{SHORT_OPS.get(op, op)}({src}→{dst})")
    return ", ".join(" ".join(nodes[dst]) for dst in sorted(nodes))


def format_seconds(seconds: float | None) -> str:
    """`37.0 s`, `12 min 05 s`, `4 h 48 min`; "-" when unknown."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def format_row(row: dict) -> dict:
    """The row's cells as text, keyed like `COLUMNS`."""
    accuracy = row["final_val_accuracy"]
    after_prune = row["final_val_accuracy_source"] == FINAL_PRUNE
    source = "after final prune" if after_prune else "last epoch"
    live = "-" if row["live_ops"] is None else f"{row['live_ops']} / {row['total_ops']}"
    return {
        "run": row["run"], "method": row["method"], "epochs": str(row["epochs"]),
        "search_seconds": format_seconds(row["search_seconds"]),
        "time_to_discrete_seconds": format_seconds(row["time_to_discrete_seconds"]),
        "final_val_accuracy": "-" if accuracy is None else f"{100 * accuracy:.2f} % ({source})",
        "live_ops": live,
        "parameters_m": "-" if row["parameters_m"] is None else f"{row['parameters_m']:.2f}",
        "multiply_adds_m": ("-" if row["multiply_adds_m"] is None
                            else f"{row['multiply_adds_m']:.1f}"),
        "genotype": compact_genotype(row["genotype"]),
    }


def _size_line() -> str:
    net = EVALUATION_NETWORK
    return (f"Parameters and multiply-adds (per image, inference) are those of each derived "
            f"cell in the paper's evaluation network: {net['layers']} cells, C={net['channels']}, "
            f"{net['variant']} stem, on the run's image shape and classes (auxiliary tower "
            f"excluded). Final accuracy is the supernet's on the validation split.")


def markdown_report(rows: list[dict], notes: list[str], figures: dict[str, str]) -> str:
    """The report as Markdown: the table, the notes and links to the PNG figures.

    Args:
        rows: `run_row` dicts.
        notes: one line per thing a run lacks.
        figures: caption -> PNG file name (relative to the report).
    """
    def cell(text):
        return str(text).replace("|", "\\|")

    lines = ["# Search runs compared", "", _size_line(), "",
             "| " + " | ".join(COLUMNS.values()) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        text = format_row(row)
        lines.append("| " + " | ".join(cell(text[key]) for key in COLUMNS) + " |")
    if not rows:
        lines.append("| " + " | ".join(["-"] * len(COLUMNS)) + " |")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    lines += ["", "## Figures", ""]
    lines += [f"![{caption}]({name})\n" for caption, name in figures.items()]
    return "\n".join(lines).rstrip() + "\n"


def _inline_svg(svg: str) -> str:
    """An SVG document's `<svg>` element, to embed in HTML."""
    return re.sub(r"^.*?(?=<svg)", "", svg, count=1, flags=re.S)


def html_report(rows: list[dict], notes: list[str], figures: dict[str, str]) -> str:
    """The report as one self-contained HTML page, the figures embedded as SVG.

    Args:
        rows: `run_row` dicts.
        notes: one line per thing a run lacks.
        figures: caption -> SVG text.
    """
    head = "".join(f"<th>{html.escape(title)}</th>" for title in COLUMNS.values())
    body = []
    for row in rows:
        text = format_row(row)
        body.append("<tr>" + "".join(f"<td class=\"{key}\">{html.escape(text[key])}</td>"
                                     for key in COLUMNS) + "</tr>")
    notes_html = ("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
                  + "</ul>") if notes else ""
    figures_html = "".join(f"<figure>{_inline_svg(svg)}<figcaption>{html.escape(caption)}"
                           f"</figcaption></figure>" for caption, svg in figures.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Search runs compared</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
td.genotype {{ font-family: monospace; font-size: 0.85em; }}
figure {{ margin: 2em 0; }}
figure svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Search runs compared</h1>
<p>{html.escape(_size_line())}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
{notes_html}
<h2>Figures</h2>
{figures_html}
</body></html>
"""


def json_report(runs: list[RunSeries], rows: list[dict], notes: list[str],
                left_out: list[str], extra: list[dict] | None = None,
                figures: list[dict] | None = None) -> str:
    """Every number of the comparison: the rows, each run's series, and the notes.

    Args:
        runs, rows: the search runs and their `run_row`s.
        notes: one line per thing a run lacks.
        left_out: runs not compared (retraining runs).
        extra: per run, more fields to add (the Pareto view's `json_fields`).
        figures: one `{"name", "caption", "png", "svg"}` per figure written.
    """
    out = []
    for index, (run, row) in enumerate(zip(runs, rows)):
        final = run.final_prune
        more = extra[index] if extra else {}
        out.append({**row, **more, "path": str(run.path) if run.path else None,
                    "image_shape": list(run.image_shape) if run.image_shape else None,
                    "num_classes": run.num_classes, "sessions": len(run.sessions),
                    "skipped_lines": len(run.skipped_lines),
                    "final_prune": None if final is None else asdict(final),
                    "epochs_series": _series(run), "notes": run.notes})
    return json.dumps({"evaluation_network": EVALUATION_NETWORK, "runs": out,
                       "left_out": left_out, "notes": notes,
                       "figures": figures or []}, indent=2) + "\n"


def _series(run: RunSeries) -> list[dict]:
    return [{"epoch": row.epoch, "grace": row.grace, "seconds": row.seconds,
             "trace_seconds": row.trace_seconds, "relative_duration": rel,
             "sparsity": row.sparsity, "live_ops": row.live_ops, "total_ops": row.total_ops,
             "val_accuracy": row.val_accuracy, "val_loss": row.val_loss,
             "entropy": row.entropy, "mean_entropy": row.mean_entropy,
             "discrete": row.discrete}
            for row, rel in zip(run.epochs, relative_durations(run))]
