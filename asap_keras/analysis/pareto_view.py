"""Each run's points in the accuracy vs multiply-adds figure: its cell, Pareto records, front."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from asap_keras.analysis.runs import PARETO_FILE
from asap_keras.analysis.series import RunSeries, final_accuracy
from asap_keras.errors import ConfigError, GenotypeError
from asap_keras.search import pareto, resource
from asap_keras.space.primitives import op_set

FIGURE = "the accuracy vs multiply-adds figure"
EVENTS_SOURCE = "pareto events"


@dataclass(frozen=True)
class ParetoView:
    """One run as the accuracy vs multiply-adds figure draws it.

    Args:
        name: the run's name.
        size: `(cells, channels)` of its search network (None: unknown).
        cell_madds, cell_params: its derived cell's evaluation network at that size, costed
            as GOLD-NAS' Pareto records are (`resource.evaluation_cost`); None: not costed.
        accuracy: the search's final validation accuracy, as the table reports it.
        records: its Pareto records that have an accuracy, in epoch order.
        front: the records no other dominates (`pareto.insert`), by multiply-adds.
        source: where the records come from: "pareto events", "pareto.json" or "".
        notes: one line for each thing that keeps part of the run out of the figure.
    """

    name: str
    size: tuple | None = None
    cell_madds: int | None = None
    cell_params: int | None = None
    accuracy: float | None = None
    records: tuple = ()
    front: tuple = ()
    source: str = ""
    notes: tuple = ()

    @property
    def placed(self) -> bool:
        """Whether the derived cell is drawn (both its cost and its accuracy are known)."""
        return self.cell_madds is not None and self.accuracy is not None


def _positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def search_geometry(run: RunSeries) -> resource.Geometry | None:
    """The run's search network as its config's `[space]` gives it, or None if unknown.

    A cell's evaluation cost depends only on the cells, channels, images and classes
    (`resource.evaluation_cost`); the op names, nodes and stem multiplier are filled as far
    as the config tells them (None where it does not).
    """
    space = run.space or {}
    cells, channels = space.get("cells"), space.get("channels")
    if (not (_positive_int(cells) and _positive_int(channels)) or run.image_shape is None
            or run.num_classes is None):
        return None
    try:
        ops = op_set(space["ops"]) if space.get("ops") else ()
    except (ConfigError, TypeError, ValueError):
        ops = ()
    nodes, stem = space.get("nodes"), space.get("stem_multiplier")
    return resource.Geometry(ops, int(cells), int(channels),
                             int(nodes) if _positive_int(nodes) else None,
                             int(stem) if _positive_int(stem) else None,
                             tuple(run.image_shape), int(run.num_classes))


def front_of(records) -> tuple:
    """The records no other dominates, offered in epoch order as the search offers them."""
    front = ()
    for record in sorted(records, key=lambda r: r.epoch):
        front, _ = pareto.insert(front, record)
    return front


def _cell_cost(run: RunSeries, geometry) -> tuple[tuple | None, str | None]:
    """`(multiply_adds, parameters)` of the cell at the search size, or why not."""
    if run.genotype is None:
        return None, "no cell"
    if run.image_shape is None or run.num_classes is None:
        return None, "no image shape or class names"
    if geometry is None:
        return None, ("no search network size (space.cells, space.channels) in its run_start "
                      "or config.resolved.toml")
    try:
        return resource.evaluation_cost(run.genotype, geometry), None
    except (GenotypeError, ConfigError) as err:
        return None, f"its cell ({run.genotype_source}) cannot be costed: {err}"


def _records(run: RunSeries) -> tuple[list, str, list]:
    """The run's Pareto records with an accuracy, their source, and notes."""
    name, notes = run.name, []
    if run.pareto:
        records, source = list(run.pareto), EVENTS_SOURCE
    elif run.pareto_file:
        records, source = sorted(run.pareto_file, key=lambda r: r.epoch), PARETO_FILE
    else:
        if run.method.startswith("gold") and run.pareto_file is None:
            notes.append(f"run {name}: a gold search without Pareto records (no pareto "
                         f"events, no readable {PARETO_FILE}): {FIGURE} shows only its cell")
        return [], "", notes
    blind = [r.epoch for r in records if r.val_accuracy is None]
    if blind:
        notes.append(f"run {name}: {len(blind)} Pareto record(s) without a validation "
                     f"accuracy (epochs {', '.join(map(str, blind))}) left out of {FIGURE}")
    return [r for r in records if r.val_accuracy is not None], source, notes


def pareto_view(run: RunSeries) -> ParetoView:
    """Where `run` sits in the figure: its cell, its Pareto records and front, and notes.

    The records are the run's `pareto` events (a resume voids what earlier sessions logged
    for the epochs it redoes), else `pareto.json`'s entries; the front is recomputed from
    them with the search's own rule, and a `pareto.json` that disagrees is noted.
    """
    geometry = search_geometry(run)
    cost, why = _cell_cost(run, geometry)
    accuracy, _ = final_accuracy(run)
    if why is None and accuracy is None:
        why = "no final validation accuracy"
    notes = [f"run {run.name}: its cell is not in {FIGURE}: {why}"] if why else []
    records, source, more = _records(run)
    notes += more
    front = front_of(records)
    if source == EVENTS_SOURCE and run.pareto_file is not None and (
            [r.to_dict() for r in run.pareto_file] != [r.to_dict() for r in front]):
        notes.append(f"run {run.name}: {PARETO_FILE} differs from the front its pareto "
                     f"events give ({len(run.pareto_file)} vs {len(front)} entries): the "
                     f"figure and compare.json show the events'")
    return ParetoView(
        name=run.name,
        size=None if geometry is None else (geometry.cells, geometry.channels),
        cell_madds=None if cost is None else cost[0],
        cell_params=None if cost is None else cost[1],
        accuracy=accuracy, records=tuple(records), front=front, source=source,
        notes=tuple(notes))


def size_notes(views: list[ParetoView]) -> list[str]:
    """One line if the runs drawn were searched at different sizes (not comparable)."""
    sizes: dict = {}
    for view in views:
        if view.size is not None and (view.placed or view.records):
            sizes.setdefault(view.size, []).append(view.name)
    if len(sizes) < 2:
        return []
    groups = "; ".join(f"{', '.join(names)}: {cells} cells, C={channels}"
                       for (cells, channels), names in sizes.items())
    return [f"runs searched at different sizes ({groups}): {FIGURE} costs each cell at its "
            f"own run's size, so only runs of one size compare"]


def size_text(views: list[ParetoView]) -> str:
    """The search size the figure's multiply-adds are counted at, for its axis label."""
    sizes = {view.size for view in views
             if view.size is not None and (view.placed or view.records)}
    if len(sizes) == 1:
        cells, channels = next(iter(sizes))
        return f"{cells} cells, C={channels}"
    return "each run's own" if sizes else "unknown"


def json_fields(view: ParetoView) -> dict:
    """The view's numbers for `compare.json`: size, the cell's cost there, records, front."""
    return {
        "search_network": (None if view.size is None
                           else {"cells": view.size[0], "channels": view.size[1]}),
        "search_size_cost": (None if view.cell_madds is None else
                             {"multiply_adds": view.cell_madds,
                              "parameters": view.cell_params}),
        "pareto_source": view.source or None,
        "pareto_records": [{"epoch": r.epoch, "multiply_adds": r.multiply_adds,
                            "params": r.params, "val_accuracy": r.val_accuracy,
                            "on_front": r in view.front} for r in view.records],
        "pareto_front": [r.to_dict() for r in view.front],
    }
