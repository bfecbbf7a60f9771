"""Draws a genotype's cells as DARTS' visualisation does: DOT, rendered by graphviz if present."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from asap_keras.errors import AsapError, quote
from asap_keras.run_dir import atomic_write_text
from asap_keras.space.genotype import Genotype

FORMATS = (".dot", ".svg", ".png", ".pdf")
_INPUTS = ("c_{k-2}", "c_{k-1}")


def _cell(genotype: Genotype, cell_type: str) -> list[str]:
    edges = genotype.edges(cell_type)
    concat = getattr(genotype, f"{cell_type}_concat")
    prefix = cell_type[0]
    # The nodes some edge enters: every node of a DARTS cell, the live ones of a free cell.
    nodes = sorted({dst for _, _, dst in edges})

    def name(index: int) -> str:
        return f"{prefix}_in{index}" if index < 2 else f"{prefix}_{index - 2}"

    lines = [f'  subgraph cluster_{cell_type} {{',
             f'    label="{cell_type} cell"; fontsize=18; color=gray;']
    for index, label in enumerate(_INPUTS):
        lines.append(f'    {name(index)} [label="{label}", fillcolor=darkseagreen2];')
    for node in nodes:
        lines.append(f'    {name(node)} [label="{node - 2}", fillcolor=lightblue];')
    lines.append(f'    {prefix}_out [label="c_{{k}}", fillcolor=palegoldenrod];')
    # One edge per op: a free cell's several ops between two nodes are parallel edges.
    for op, src, dst in edges:
        lines.append(f'    {name(src)} -> {name(dst)} [label="{op}", fillcolor=gray];')
    for index in concat:
        lines.append(f'    {name(index)} -> {prefix}_out [fillcolor=gray];')
    lines.append("  }")
    return lines


def cell_dot(genotype: Genotype, cell_types=("normal", "reduce")) -> str:
    """The DOT source of the cells: inputs c_{k-2} and c_{k-1}, the intermediate nodes, the
    output c_{k} (the concat), and one edge per kept op, labelled with its name.

    A free cell draws only its live nodes, and as many edges between two nodes as the
    edge keeps ops."""
    lines = ["digraph cells {", "  rankdir=LR;",
             '  node [style="filled,rounded", shape=rect, align=center, fontsize=16, '
             'height=0.5, width=0.5, penwidth=2, fontname="helvetica"];',
             '  edge [fontsize=14, fontname="helvetica"];']
    for cell_type in cell_types:
        lines += _cell(genotype, cell_type)
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot(genotype: Genotype, out, cell_types=("normal", "reduce")) -> tuple[Path, str]:
    """Writes the cells to `out` (.dot, or .svg/.png/.pdf rendered by graphviz's `dot`).

    Without graphviz an image format falls back to the DOT source next to it, and the note
    says how to render it.

    Returns:
        `(written path, note)`.

    Raises:
        AsapError: an unknown format, or graphviz failing to render.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise AsapError(f"--out must end in one of {', '.join(FORMATS)}. "
                        f"Received: --out={quote(str(out))}")
    source = cell_dot(genotype, cell_types)
    dot = shutil.which("dot")
    if suffix == ".dot" or dot is None:
        target = out.with_suffix(".dot")
        atomic_write_text(target, source)
        note = "" if suffix == ".dot" else (
            f"graphviz's `dot` is not installed, so the DOT source was written instead; "
            f"render it with: dot -T{suffix[1:]} {target} -o {out}")
        return target, note
    done = subprocess.run([dot, f"-T{suffix[1:]}", "-o", str(out)], input=source.encode(),
                          capture_output=True, timeout=60)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise AsapError(f"graphviz could not render the cell ({message[0] if message else ''})"
                        f". Received: --out={quote(str(out))}")
    return out, ""
