"""`asap-keras compare`: search runs read from their directories, compared in one report."""

from __future__ import annotations

from pathlib import Path

from asap_keras.analysis import figures as figures_lib
from asap_keras.analysis import pareto_figure
from asap_keras.analysis import report as report_lib
from asap_keras.analysis.pareto_view import json_fields, pareto_view, size_notes
from asap_keras.analysis.runs import load_run, open_run
from asap_keras.errors import RunDirError
from asap_keras.run_dir import atomic_write_text

CAPTIONS = {
    "fig3_duration_sparsity": "Fig. 3: relative epoch duration and 1 - sparsity per epoch",
    "fig6_validation_accuracy": "Fig. 6: validation accuracy along the search",
    "fig7_cell_entropy": "Fig. 7: mean normalized cell entropy",
    pareto_figure.STEM: pareto_figure.CAPTION,
}


def run_names(paths: list[Path]) -> list[str]:
    """Each run's directory name, with its parent's where two runs share a name."""
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def compare_runs(run_dirs: list, out_dir) -> tuple[list[Path], list[str]]:
    """Reads the runs and writes the figures, `report.md`, `report.html` and `compare.json`.

    Every path is checked before anything is read or written. A run that lacks something
    (epochs, a final prune, a genotype, decodable lines) is compared with what it has, and
    one note says what is missing; a retraining run is left out with a note.

    Args:
        run_dirs: search run directories.
        out_dir: the output folder (created if missing).

    Returns:
        `(written files, notes)`.

    Raises:
        RunDirError: a path that is not a run directory, or an output folder that cannot be
            created.
    """
    paths, notes = [], []
    for raw in run_dirs:
        path = open_run(raw)
        if path.resolve() in [p.resolve() for p in paths]:
            notes.append(f"run {path.name}: given twice; compared once")
            continue
        paths.append(path)
    runs = [load_run(p, name) for p, name in zip(paths, run_names(paths))]
    notes += [note for run in runs for note in run.notes]
    searches = [run for run in runs if run.run_kind != "train"]
    left_out = [run.name for run in runs if run.run_kind == "train"]
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"cannot create the output folder ({err.strerror}). "
                          f"Received: --out={str(out)!r}") from None
    rows = []
    for run in searches:
        cost, note = report_lib.evaluation_cost(run)
        if note:
            notes.append(note)
            run.notes.append(note)
        rows.append(report_lib.run_row(run, cost))
    views = [pareto_view(run) for run in searches]
    for run, view in zip(searches, views):
        notes += view.notes
        run.notes += view.notes
    notes += size_notes(views)
    draws = {**figures_lib.FIGURES,
             pareto_figure.STEM: lambda runs: pareto_figure.accuracy_vs_madds(runs, views)}
    written, pngs, svgs, listed = [], {}, {}, []
    for stem, draw in draws.items():
        saved = figures_lib.save_figure(draw(searches), out, stem)
        written += [saved["png"], saved["svg"]]
        pngs[CAPTIONS[stem]] = saved["png"].name
        svgs[CAPTIONS[stem]] = saved["svg"].read_text()
        listed.append({"name": stem, "caption": CAPTIONS[stem], "png": saved["png"].name,
                       "svg": saved["svg"].name})
    for name, text in (("report.md", report_lib.markdown_report(rows, notes, pngs)),
                       ("report.html", report_lib.html_report(rows, notes, svgs)),
                       ("compare.json", report_lib.json_report(
                           searches, rows, notes, left_out, [json_fields(v) for v in views],
                           listed))):
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written, notes
