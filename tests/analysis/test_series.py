"""Folding a search's events into series, and the numbers read off them, by hand."""

import pytest

from asap_keras import events
from asap_keras.analysis.series import (
    end_ops,
    final_accuracy,
    fold,
    method_label,
    reference_row,
    relative_durations,
    search_seconds,
    time_to_discrete,
)
from tests.analysis import synthetic_runs as runs_lib


def folded(lines, name="r"):
    return fold([events.decode(text) for text in lines if text.startswith("{\"")], name)


def test_relative_durations_subtract_traces_and_divide_by_the_first_architecture_epoch():
    run = folded(runs_lib.ASAP_A)
    assert [row.epoch for row in run.epochs] == [0, 1, 2, 3, 4]
    assert [row.trace_seconds for row in run.epochs] == [8.0, 0.0, 5.0, 3.0, 0.0]
    assert reference_row(run).epoch == 2
    # Net seconds 14-8, 6, 15-5, 11-3, 5 over epoch 2's 10.
    assert relative_durations(run) == pytest.approx([0.6, 0.6, 1.0, 0.8, 0.5])
    assert [row.grace for row in run.epochs] == [True, True, False, False, False]
    assert [1 - row.sparsity for row in run.epochs] == pytest.approx([1, 1, .5, .25, .125])
    assert [row.mean_entropy for row in run.epochs] == pytest.approx([1, .8, .4, .15, 0])


def test_relative_durations_use_the_untraced_step_time_when_it_is_logged():
    # Epoch seconds hold validation and its retrace; the mean untraced step does not.
    lines = [runs_lib.run_start(0.0),
             runs_lib.epoch(10.0, 0, 9.0, grace=True, step_seconds=0.5),
             runs_lib.trace(11.0, 1, 4.0, "grace_end"),
             runs_lib.epoch(30.0, 1, 20.0, step_seconds=1.25),
             runs_lib.epoch(60.0, 2, 30.0, step_seconds=0.25)]  # a slow validation retrace
    assert relative_durations(folded(lines)) == pytest.approx([0.4, 1.0, 0.2])


def test_wall_time_time_to_discrete_and_the_final_prune():
    run = folded(runs_lib.ASAP_A)
    assert search_seconds(run) == 54.0  # run_end's seconds
    assert time_to_discrete(run) == 51.0  # epoch 4 ended at 1051, the run started at 1000
    assert final_accuracy(run) == (0.55, "final_prune")
    assert run.final_prune.val_accuracy_before == 0.6
    assert end_ops(run) == (14, 112)
    assert run.method == "asap" and run.image_shape == (8, 8, 1) and run.num_classes == 10


def test_a_resumed_run_keeps_what_the_later_session_logged_for_the_redone_epochs():
    run = folded(runs_lib.ASAP_RESUMED)
    assert [row.epoch for row in run.epochs] == [0, 1, 2, 3]
    redone = run.epochs[2]
    # Session 2's epoch 2 (12 s, its own 4 s trace), not session 1's (10 s, a 3 s trace).
    assert (redone.seconds, redone.trace_seconds, redone.val_accuracy) == (12.0, 4.0, 0.45)
    assert len(run.sessions) == 2
    assert run.sessions[0].status is None and run.sessions[0].last_event == 2030.0
    # Session 1 has no run_end: 2000 to its last event (30 s); session 2: run_end's 22 s.
    assert search_seconds(run) == 52.0
    # Discrete at the end of epoch 3 (t=3020): 30 s of session 1 and 20 s of session 2.
    assert time_to_discrete(run) == 50.0
    # Unit: epoch 1, 10 s minus its 2 s trace.
    assert relative_durations(run) == pytest.approx([10 / 8, 1.0, 8 / 8, 6 / 8])


def test_a_resume_voids_a_final_prune_and_genotype_logged_for_redone_epochs():
    lines = runs_lib.ASAP_A[:-1] + [runs_lib.run_start(2000.0, start_epoch=3)]
    run = folded(lines)
    assert [row.epoch for row in run.epochs] == [0, 1, 2]
    assert run.final_prune is None and run.last_genotype is None
    assert final_accuracy(run) == (0.4, "last epoch")


def test_runs_without_grace_discrete_or_epochs():
    darts = folded(runs_lib.DARTS_OLD)
    assert darts.method == "darts-2nd"
    assert reference_row(darts).epoch == 0 and relative_durations(darts) == [1.0, 1.0]
    assert time_to_discrete(darts) is None
    assert final_accuracy(darts) == (0.4, "last epoch")
    empty = folded(runs_lib.NO_EPOCHS)
    assert empty.epochs == [] and final_accuracy(empty) == (None, "")
    assert end_ops(empty) == (None, None) and search_seconds(empty) == 1.0
    grace_only = folded(runs_lib.ASAP_A[:4])
    assert relative_durations(grace_only) == [None, None]
    assert search_seconds(fold([], "nothing")) is None


def test_method_label():
    assert method_label({"search": {"method": "asap"}}) == "asap"
    assert method_label({"search": {"method": "darts", "darts": {"order": 2}}}) == "darts-2nd"
    assert method_label({"search": {"method": "darts", "darts": {"order": 1}}}) == "darts-1st"
    assert method_label({"search": {"method": "darts"}}) == "darts"
    assert method_label({"search": {"method": "gold"}}) == "gold"
    assert method_label({"search": {"method": "asap", "anneal": {"schedule": "pac"}}}) \
        == "asap-pac"
    assert method_label({"search": {"method": "asap",
                                    "anneal": {"schedule": "exponential"}}}) == "asap"
    assert method_label({"search": {"method": "magnitude", "magnitude": {"power": 1}}}) \
        == "magnitude-p1"
    assert method_label({"search": {"method": "accum_grad", "accum_grad": {"power": 3}}}) \
        == "accum_grad-p3"
    # Another method's table does not label this one.
    assert method_label({"search": {"method": "nap", "darts": {"order": 2}}}) == "nap"
    assert method_label({}) == ""


def test_a_final_prune_without_the_accuracy_before_it():
    text = events.encode("final_prune", when=5.0, epoch=3, genotype=runs_lib.ASAP,
                         val_accuracy=0.5, val_loss=1.5, live_ops=14, total_ops=112)
    run = folded(runs_lib.ASAP_A[:-2] + [text])
    assert run.final_prune.val_accuracy_before is None
    assert final_accuracy(run) == (0.5, "final_prune") and end_ops(run) == (14, 112)


def test_a_gold_log_folds_its_weight_entropy_and_multiply_adds():
    # GOLD-NAS' gates are no distribution: `entropy` is empty, `weight_entropy` tells.
    line = runs_lib.line(
        "epoch", 5.0, epoch=0, temperature=1.0, threshold=0.05, grace=False, sparsity=0.5,
        entropy={}, weight_entropy={"normal": 0.25, "reduce": 0.75}, relaxation="sigmoid",
        supernet_madds=1234, ops=[], phi={}, alive={}, metrics={"loss": 1.0},
        epoch_seconds=2.0, live_ops=1, total_ops=2)
    run = folded([runs_lib.run_start(0.0, method="gold"), line])
    (row,) = run.epochs
    assert run.method == "gold" and row.entropy == {} and row.mean_entropy is None
    assert row.mean_weight_entropy == pytest.approx(0.5)
    assert (row.relaxation, row.supernet_madds) == ("sigmoid", 1234)
    asap = folded(runs_lib.ASAP_A).epochs[0]  # older logs: softmax, no weight entropy
    assert (asap.relaxation, asap.weight_entropy, asap.supernet_madds) == ("softmax", {}, None)
