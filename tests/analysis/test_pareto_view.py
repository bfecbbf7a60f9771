"""Each run's cell, Pareto records and front for the accuracy vs multiply-adds figure."""

import json

import pytest

from asap_keras.analysis.pareto_view import json_fields, pareto_view, size_notes
from asap_keras.analysis.runs import load_run
from asap_keras.analysis.series import fold
from asap_keras.events import decode
from tests.analysis import synthetic_runs as runs_lib


def points(records):
    return [(r.epoch, r.multiply_adds, r.val_accuracy) for r in records]


def test_a_gold_run_gives_its_cell_every_record_and_the_non_dominated_ones(pareto_runs):
    view = pareto_view(load_run(pareto_runs["gold-a"]))
    assert view.size == (3, 4)
    # The cell costed at the search network's size, as the records are; by hand.
    assert view.cell_madds == runs_lib.POOL_CELL_MADDS
    assert view.accuracy == 0.58  # the table's: after the final prune
    assert view.source == "pareto events"
    assert points(view.records) == [(n, m, a) for n, m, a, _ in runs_lib.GOLD_RECORDS]
    assert points(view.front) == [(4, 2_000_000, 0.40), (2, 3_000_000, 0.55),
                                  (1, 4_000_000, 0.60)]
    assert view.notes == ()  # its pareto.json holds the same front
    fields = json_fields(view)
    assert fields["pareto_front"] == runs_lib.GOLD_A_FRONT
    assert [r["on_front"] for r in fields["pareto_records"]] == [False, True, True, False,
                                                                 True]
    assert fields["search_network"] == {"cells": 3, "channels": 4}
    assert fields["search_size_cost"]["multiply_adds"] == runs_lib.POOL_CELL_MADDS


def test_records_only_in_pareto_json_are_read_from_it(pareto_runs):
    view = pareto_view(load_run(pareto_runs["gold-file"]))
    assert view.source == "pareto.json"
    assert points(view.records) == [(0, 1_000_000, 0.3), (1, 1_500_000, 0.35)]
    assert view.front == view.records  # neither dominates the other


def test_a_run_without_pareto_data_gets_only_its_cell(pareto_runs):
    view = pareto_view(load_run(pareto_runs["asap-b"]))
    assert (view.cell_madds, view.accuracy) == (runs_lib.POOL_CELL_MADDS, 0.45)
    assert view.placed and view.records == () and view.front == () and view.notes == ()
    assert json_fields(view)["pareto_front"] == []


def test_a_run_without_a_search_size_is_not_placed_and_named_in_a_note(pareto_runs):
    view = pareto_view(load_run(pareto_runs["no-size"]))
    assert not view.placed and view.cell_madds is None
    assert view.notes == ("run no-size: its cell is not in the accuracy vs multiply-adds "
                          "figure: no search network size (space.cells, space.channels) in "
                          "its run_start or config.resolved.toml",)


def test_the_search_size_falls_back_to_the_resolved_config(pareto_runs):
    path = pareto_runs["no-size"]
    (path / "config.resolved.toml").write_text("[space]\ncells = 3\nchannels = 4\n")
    view = pareto_view(load_run(path))
    assert view.size == (3, 4) and view.cell_madds == runs_lib.POOL_CELL_MADDS


def folded(lines):
    return fold([decode(text) for text in lines], "r")


def test_a_resume_voids_the_records_of_the_epochs_it_redoes():
    first, second = runs_lib.one_op_cell("sep_conv_3x3"), runs_lib.one_op_cell("skip_connect")
    run = folded([runs_lib.run_start(0.0, method="gold"),
                  runs_lib.pareto(1.0, 0, 300, 0.5, first),
                  runs_lib.pareto(2.0, 1, 100, 0.9, first),  # redone after the resume
                  runs_lib.run_start(3.0, start_epoch=1, method="gold"),
                  runs_lib.pareto(4.0, 1, 200, 0.6, second)])
    view = pareto_view(run)
    assert points(view.records) == [(0, 300, 0.5), (1, 200, 0.6)]
    assert points(view.front) == [(1, 200, 0.6)]


def test_records_without_accuracy_are_left_out_with_a_note():
    cell = runs_lib.one_op_cell("sep_conv_3x3")
    run = folded([runs_lib.run_start(0.0, method="gold"),
                  runs_lib.pareto(1.0, 0, 300, None, cell),
                  runs_lib.pareto(2.0, 1, 100, 0.9, cell)])
    view = pareto_view(run)
    assert points(view.records) == [(1, 100, 0.9)]
    assert ("run r: 1 Pareto record(s) without a validation accuracy (epochs 0) left out of "
            "the accuracy vs multiply-adds figure") in view.notes


def test_a_gold_run_without_records_says_so():
    view = pareto_view(folded([runs_lib.run_start(0.0, method="gold")]))
    assert any("a gold search without Pareto records" in note for note in view.notes)


@pytest.mark.parametrize("text, why", [
    ("{not json", "pareto.json is not valid JSON"),
    ('{"epoch": 0}', "pareto.json must hold a JSON list of Pareto records"),
    ('[{"epoch": 0, "genotype": {}, "multiply_adds": 1, "params": 1, "val_accuracy": 0.5}]',
     "pareto.json entry 0 is no Pareto record"),
])
def test_a_damaged_pareto_json_is_noted_and_the_events_are_used(pareto_runs, text, why):
    path = pareto_runs["gold-a"]
    (path / "pareto.json").write_text(text)
    run = load_run(path)
    assert run.pareto_file is None
    assert [note for note in run.notes if why in note] != []
    assert len(pareto_view(run).records) == 5


def test_a_pareto_json_that_disagrees_with_the_events_is_noted(pareto_runs):
    path = pareto_runs["gold-a"]
    (path / "pareto.json").write_text(json.dumps(runs_lib.GOLD_A_FRONT[:1]))
    view = pareto_view(load_run(path))
    assert len(view.front) == 3
    assert view.notes == ("run gold-a: pareto.json differs from the front its pareto events "
                          "give (1 vs 3 entries): the figure and compare.json show the "
                          "events'",)


def test_runs_searched_at_different_sizes_are_noted(pareto_runs):
    small = pareto_view(load_run(pareto_runs["asap-b"]))
    big = folded([runs_lib.run_start(0.0, space={**runs_lib.SPACE, "cells": 8}),
                  runs_lib.final_prune(1.0, 0, 0.5, 0.5, 1, 2, runs_lib.MAX_CELL)])
    big.genotype = runs_lib.MAX_CELL
    notes = size_notes([small, pareto_view(big)])
    assert notes == ["runs searched at different sizes (asap-b: 3 cells, C=4; r: 8 cells, "
                     "C=4): the accuracy vs multiply-adds figure costs each cell at its own "
                     "run's size, so only runs of one size compare"]
    assert size_notes([small, small]) == []
