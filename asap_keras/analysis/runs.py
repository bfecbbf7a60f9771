"""Reading a run directory (events, run.json, config, genotype) into a `RunSeries`."""

from __future__ import annotations

import json
import math
import numbers
import tomllib
from pathlib import Path

from asap_keras import events as events_lib
from asap_keras import run_dir as run_dir_lib
from asap_keras.analysis.series import (
    FINAL_PRUNE,
    RunSeries,
    fold,
    method_label,
    pareto_record,
    reference_row,
)
from asap_keras.errors import GenotypeError, RunDirError
from asap_keras.space.genotype import Genotype

# GOLD-NAS' Pareto front (`search.runner.PARETO_FILE`, not imported: it needs TensorFlow).
PARETO_FILE = "pareto.json"


def read_events(path: Path) -> tuple[list, list]:
    """The decodable events of a log, and `(line number, why)` for each line skipped."""
    decoded, skipped = [], []
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            decoded.append(events_lib.decode(line))
        except events_lib.EventError as err:
            skipped.append((number, str(err)))
    return decoded, skipped


def open_run(path: str | Path) -> Path:
    """Checks that `path` is a run directory: a folder holding `events.jsonl`.

    Raises:
        RunDirError: it is missing, not a folder, or has no event log.
    """
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"run directory not found. Received: {str(path)!r}")
    if not (path / run_dir_lib.EVENTS_FILE).is_file():
        inner = sorted(p.name for p in path.iterdir()
                       if (p / run_dir_lib.EVENTS_FILE).is_file())
        more = ", ..." if len(inner) > 3 else ""
        hint = f"; it holds runs ({', '.join(inner[:3])}{more}): name them" if inner else ""
        raise RunDirError(f"not a run directory (no {run_dir_lib.EVENTS_FILE}{hint}). "
                          f"Received: {str(path)!r}")
    return path


def load_run(path: str | Path, name: str | None = None) -> RunSeries:
    """Reads a run directory: events, `run.json`, config, `genotype.json`, `pareto.json`.

    What is missing or damaged becomes a one-line note in `RunSeries.notes`, never an error.

    Raises:
        RunDirError: `path` is not a run directory (`open_run`).
    """
    path = open_run(path)
    name = name or path.name
    decoded, skipped = read_events(path / run_dir_lib.EVENTS_FILE)
    run = fold(decoded, name)
    run.path, run.skipped_lines = path, skipped
    notes = run.notes
    if skipped:
        number, why = skipped[0]
        notes.append(f"run {name}: skipped {len(skipped)} undecodable line(s) of "
                     f"{run_dir_lib.EVENTS_FILE} (line {number}: {why})")
    info = _read_json(path / run_dir_lib.RUN_FILE, name, notes)
    if not run.sessions:
        notes.append(f"run {name}: no run_start event: method, image shape and classes are "
                     f"read from {run_dir_lib.CONFIG_FILE} and {run_dir_lib.RUN_FILE}")
        run.run_kind = str(info.get("kind") or run.run_kind)
        shape, classes = info.get("image_shape"), info.get("class_names")
        run.image_shape = tuple(shape) if shape else None
        run.num_classes = len(classes) if classes else None
    config = _read_config(path / run_dir_lib.CONFIG_FILE)
    run.method = run.method or method_label(config)
    space = config.get("space")
    run.space = run.space or (dict(space) if isinstance(space, dict) else {})
    if run.run_kind == "train" or info.get("kind") == "train":
        run.run_kind = "train"
        notes.append(f"run {name}: a retraining run (run_kind 'train'), not a search: left out "
                     f"of the figures and the table")
        return run
    _attach_genotype(run, path / run_dir_lib.GENOTYPE_FILE, notes)
    if (path / PARETO_FILE).exists():
        run.pareto_file = _read_pareto(path / PARETO_FILE, name, notes)
    notes.extend(gaps(run))
    return run


def gaps(run: RunSeries) -> list[str]:
    """One line for each thing the run's log lacks that the comparison would show."""
    name, out = run.name, []
    if not run.epochs:
        out.append(f"run {name}: no epoch events: nothing to plot or time")
    elif reference_row(run) is None:
        out.append(f"run {name}: every epoch was a grace epoch (no architecture step): no "
                   f"relative epoch durations")
    if run.epochs and run.final_prune is None:
        out.append(f"run {name}: no {FINAL_PRUNE} event (logs from before it was added, and "
                   f"searches that did not finish, lack it): final accuracy is the last "
                   f"epoch's")
    last = run.sessions[-1] if run.sessions else None
    if last is not None and last.status is None:
        out.append(f"run {name}: no run_end event (still running, or killed): its wall time "
                   f"runs to its last event")
    elif last is not None and last.status in ("failed", "interrupted"):
        out.append(f"run {name}: the search ended {last.status} ({last.reason or 'no reason'})"
                   f": its numbers are those of an unfinished search")
    if run.image_shape is None or run.num_classes is None:
        out.append(f"run {name}: no image shape or class names in run_start: parameters and "
                   f"multiply-adds unknown")
    return out


def _attach_genotype(run: RunSeries, genotype_file: Path, notes: list) -> None:
    """The derived cell: genotype.json, else the final_prune's, else the last genotype event."""
    name = run.name
    if genotype_file.is_file():
        try:
            run.genotype = run_dir_lib.read_json_object(genotype_file)
            run.genotype_source = run_dir_lib.GENOTYPE_FILE
            return
        except RunDirError as err:
            why = str(err)
    else:
        why = f"no {run_dir_lib.GENOTYPE_FILE}"
    if run.final_prune is not None and run.final_prune.genotype:
        run.genotype, run.genotype_source = run.final_prune.genotype, f"{FINAL_PRUNE} event"
        notes.append(f"run {name}: {why}: the cell is the {FINAL_PRUNE} event's")
    elif run.last_genotype is not None:
        epoch, run.genotype = run.last_genotype
        run.genotype_source = f"genotype event (epoch {epoch})"
        notes.append(f"run {name}: {why}: the cell is the last genotype event's (epoch {epoch})")
    else:
        notes.append(f"run {name}: {why} and no genotype event: no cell to show or cost")


def _read_json(path: Path, name: str, notes: list) -> dict:
    if not path.is_file():
        notes.append(f"run {name}: no {path.name}")
        return {}
    try:
        return run_dir_lib.read_json_object(path)
    except RunDirError as err:
        notes.append(f"run {name}: {err}")
        return {}


def _read_config(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def _read_pareto(path: Path, name: str, notes: list) -> list | None:
    """`pareto.json`'s entries as `Record`s, or None with a note saying what is wrong."""
    try:
        entries = json.loads(run_dir_lib.read_regular_file(path).decode("utf-8-sig"))
    except RunDirError as err:
        notes.append(f"run {name}: {err}")
        return None
    except (ValueError, RecursionError) as err:  # not UTF-8, not JSON, too deep
        why = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        notes.append(f"run {name}: {path.name} is not valid JSON ({why}): not read")
        return None
    if not isinstance(entries, list):
        notes.append(f"run {name}: {path.name} must hold a JSON list of Pareto records: not "
                     f"read. Received: {type(entries).__name__}")
        return None
    for index, entry in enumerate(entries):
        if not _is_record(entry):
            shown = json.dumps(entry)[:120]
            notes.append(f"run {name}: {path.name} entry {index} is no Pareto record (an "
                         f"integer epoch, multiply_adds and params, a genotype, a number "
                         f"or null val_accuracy): not read. Received: {shown}")
            return None
    return [pareto_record(entry) for entry in entries]


def _is_record(entry) -> bool:
    if not isinstance(entry, dict):
        return False
    ints = [entry.get(key) for key in ("epoch", "multiply_adds", "params")]
    accuracy = entry.get("val_accuracy")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        return False
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(
            accuracy, numbers.Real) or not math.isfinite(accuracy)):
        return False
    try:
        Genotype.from_dict(entry.get("genotype"))
    except GenotypeError:
        return False
    return True
