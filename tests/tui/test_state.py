"""Folding events into the view model: values, resume, status, time left, edges."""

import pytest

from asap_keras.space.primitives import edge_endpoints
from tests.tui.conftest import recorded_events
from tui import progress, state
from tui.widgets.cell_graph import chosen_ops


def fold(evts, path="run"):
    view = state.RunView(path)
    for event in evts:
        state.apply(view, event)
    return view


def test_recorded_log_folds_to_its_numbers():
    evts = recorded_events()
    view = fold(evts)
    epochs = [e for e in evts if e.kind == "epoch"]
    assert [p.epoch for p in view.points()] == [e["epoch"] for e in epochs]
    assert [p.sparsity for p in view.points()] == [e["sparsity"] for e in epochs]
    assert [p.temperature for p in view.points()] == [e["temperature"] for e in epochs]
    prunes = [e for e in evts if e.kind == "prune"]
    assert prunes, "the fixture must contain prune events"
    assert [(r.epoch, r.step, r.cell, r.edge, r.op) for r in view.prunes] == [
        (p["epoch"], p["step"], p["cell"], p["edge"], p["op"]) for p in prunes]
    assert view.name == evts[0]["run"]
    assert view.epoch_cap == evts[0]["config"]["search"]["epochs"]
    assert state.status(view, now=evts[-1].time + 1e6) == "finished"
    assert progress.progress(view, evts[-1].time + 1e6).run_left is None
    xs, ys = state.metric_series(view, "val_loss")
    assert xs == [e["epoch"] for e in epochs if "val_loss" in e["metrics"]]
    for cell_type in ("normal", "reduce"):
        # The DARTS genotype of 4 nodes keeps 2 edges per node, one op each.
        assert len(chosen_ops(view.genotype, cell_type)) == 8


def test_a_log_written_before_prunes_carried_their_step_still_folds():
    from asap_keras import events
    from tests.tui.conftest import FIXTURES

    lines = (FIXTURES / "legacy_events.jsonl").read_text().splitlines()
    evts = [events.decode(line) for line in lines]
    view = fold(evts)
    prunes = [e for e in evts if e.kind == "prune"]
    assert prunes and all("step" not in p.data for p in prunes)
    assert len(view.prunes) == len(prunes) and all(r.step is None for r in view.prunes)
    assert [p.epoch for p in view.points()] == [e["epoch"] for e in evts if e.kind == "epoch"]


def test_live_run_status_goes_stale_after_several_typical_epochs():
    evts = [e for e in recorded_events() if e.kind != "run_end"]
    view = fold(evts)
    last = evts[-1].time
    typical = state.typical_epoch_seconds(view)
    assert state.status(view, last + 1) == "running"
    limit = max(state.STALE_MIN_SECONDS, state.STALE_EPOCHS * typical)
    assert state.status(view, last + limit + 1) == "stale"
    assert progress.progress(view, last + 1).run_left >= 0
    assert state.elapsed(view, last + 1) == pytest.approx(last + 1 - view.started)


def test_no_events_is_waiting_and_stale_before_first_epoch_is_lenient():
    view = state.RunView("r")
    assert state.status(view, 0.0) == "waiting"
    start = recorded_events()[0]
    state.apply(view, start)
    assert state.status(view, start.time + 600) == "running"
    assert state.status(view, start.time + state.STALE_BEFORE_FIRST_EPOCH + 1) == "stale"


@pytest.mark.parametrize("status, shown", [("interrupted", "interrupted"), ("failed", "failed"),
                                           ("stopped", "stopped")])
def test_end_status_is_shown(status, shown):
    evts = [e for e in recorded_events() if e.kind != "run_end"]
    view = fold(evts)
    end = state.apply
    from asap_keras import events
    end(view, events.decode(events.encode("run_end", when=evts[-1].time, status=status,
                                          epoch=0, reason="x")))
    assert state.status(view, evts[-1].time + 1e6) == shown


def test_resume_voids_what_was_logged_after_the_checkpoint():
    evts = recorded_events()
    view = fold(evts)
    total = len(view.points())
    assert total >= 2
    restart = evts[0]
    resumed = type(restart)(restart.kind, restart.time + 100,
                            {**restart.data, "start_epoch": 1})
    state.apply(view, resumed)
    assert [p.epoch for p in view.points()] == [0]
    assert all(row.epoch < 1 for row in view.prunes)
    assert view.end_status is None and view.sessions == 2
    assert view.started == restart.time


def test_edge_endpoints_match_the_search_space():
    for nodes in (1, 4, 5):
        edges = len(edge_endpoints(nodes))
        assert state.edge_endpoints(edges) == edge_endpoints(nodes)


def test_a_resumed_retraining_log_folds_without_search_fields():
    from asap_keras import events
    from tui import charts

    def start(when, start_epoch):
        return events.encode("run_start", when=when, run="t", config={"train": {"epochs": 4}},
                             versions={}, seed=0, start_epoch=start_epoch, run_kind="train")

    def epoch(when, n, loss):
        return events.encode("train_epoch", when=when, epoch=n, metrics={"loss": loss},
                             epoch_seconds=1.0, learning_rate=0.05, drop_path=0.0)

    lines = [start(1.0, 0), epoch(2.0, 0, 2.0), epoch(3.0, 1, 1.9),
             events.encode("run_end", when=3.5, status="interrupted", epoch=1,
                           reason="KeyboardInterrupt", seconds=2.5),
             # resumed after epoch 0's model was saved: the logged epoch 1 is redone
             start(5.0, 1), epoch(6.0, 1, 1.5)]
    view = fold([events.decode(line) for line in lines])
    assert view.run_kind == "train" and view.sessions == 2
    assert view.epoch_cap == 4 and [p.epoch for p in view.points()] == [0, 1]
    assert view.points()[0].sparsity is None
    assert state.metric_series(view, "loss") == ([0, 1], [2.0, 1.5])
    specs = {spec.name: spec for spec in charts.build_specs([view], 0)}
    for name in charts.SEARCH_ONLY:
        assert not specs[name].series and "training run" in specs[name].empty
    assert specs["loss"].series and "training run" not in specs["loss"].empty


def test_the_method_and_the_final_prune_are_folded():
    from asap_keras import events

    recorded = recorded_events()
    start = recorded[0]
    config = {**start["config"], "search": {**start["config"]["search"], "method": "darts"}}
    lines = [events.encode("run_start", when=start.time, **{**start.data, "config": config}),
             *(events.encode(e.kind, when=e.time, **e.data) for e in recorded[1:-1]),
             events.encode("final_prune", when=recorded[-1].time, epoch=2,
                           genotype=recorded[-2]["genotype"], val_accuracy=0.41,
                           val_loss=1.5, val_accuracy_before=0.63, live_ops=24,
                           total_ops=168)]
    view = fold([events.decode(line) for line in lines])
    assert view.method == "darts"
    assert view.final_prune == {"before": 0.63, "after": 0.41}
    assert fold(recorded).method == "asap" and fold(recorded).final_prune is None


def _decoded(lines):
    from asap_keras import events

    return [events.decode(line) for line in lines]


@pytest.mark.parametrize("from_epoch", [0, 1, 2])
def test_null_losses_mark_the_run_diverged_at_their_first_epoch(from_epoch):
    from tests.tui.conftest import diverged_lines
    from tui import charts

    view = fold(_decoded(diverged_lines(from_epoch)))
    assert view.diverged and view.diverged_at == from_epoch
    assert not view.errors
    assert [p.epoch for p in view.points()] == [0, 1, 2], "a diverged epoch is still folded"
    assert [p.temperature is None for p in view.points()] == [
        e >= from_epoch for e in (0, 1, 2)]
    assert state.metric_series(view, "loss")[0] == list(range(from_epoch))
    specs = {s.name: s for s in charts.build_specs([view], 0)}
    losses = specs["loss"].series
    assert all(x < from_epoch for s in losses for x in s.xs)
    if from_epoch == 0:
        assert not losses and specs["loss"].empty == charts.NO_FINITE_VALUE
    assert specs["sparsity"].series[0].xs == [0, 1, 2], "other charts keep every epoch"


def test_a_healthy_log_is_not_diverged():
    assert fold(recorded_events()).diverged_at is None


def test_run_end_failed_by_divergence_shows_failed_and_diverged():
    from asap_keras import events

    evts = [e for e in recorded_events() if e.kind != "run_end"]
    # the reason `asap_keras.stopping.StopOnDivergence` gives
    reason = ("DivergedError: diverged: loss became nan at epoch 2, step 3 of 5; nothing "
              "from this epoch was saved (the newest checkpoint is the last good state). "
              "Received: loss=nan")
    end = events.encode("run_end", when=evts[-1].time, status="failed", epoch=1,
                        reason=reason, seconds=9.0)
    view = fold(evts + _decoded([end]))
    assert state.status(view, evts[-1].time + 1e6) == "failed"
    assert view.diverged_at == 2
    other = events.encode("run_end", when=evts[-1].time, status="failed", epoch=1,
                          reason="OSError: disk full", seconds=9.0)
    view = fold(evts + _decoded([other]))
    assert state.status(view, evts[-1].time) == "failed" and not view.diverged


def test_a_resume_before_the_divergence_clears_it():
    from tests.tui.conftest import diverged_lines

    view = fold(_decoded(diverged_lines(2)))
    start = recorded_events()[0]
    state.apply(view, type(start)(start.kind, start.time + 100,
                                  {**start.data, "start_epoch": 1}))
    assert view.diverged_at is None and [p.epoch for p in view.points()] == [0]


def test_null_in_every_number_field_folds_to_gaps():
    from asap_keras import events

    nan = float("nan")
    recorded = recorded_events()
    lines = []
    for e in recorded:
        data = {k: nan if isinstance(v, float) else v for k, v in e.data.items()}
        if e.kind == "epoch":
            data["phi"] = {t: [[nan] * len(row) for row in rows] for t, rows in e["phi"].items()}
            data["entropy"] = {t: nan for t in e["entropy"]}
            data["metrics"] = {k: nan for k in e["metrics"]}
        lines.append(events.encode(e.kind, when=e.time, **data))
    view = fold(_decoded(lines))
    assert not view.errors and view.diverged_at == 0
    assert all(p.temperature is None and p.seconds is None and p.entropy == {}
               for p in view.points())
    assert all(row.weight is None and row.threshold is None for row in view.prunes)
    assert state.typical_epoch_seconds(view) is None
    assert state.status(view, recorded[-1].time) == "finished"
    from tui import charts

    for spec in charts.build_specs([view], 0):
        assert not spec.series and spec.empty == charts.NO_FINITE_VALUE, spec.name


def test_an_event_the_fold_cannot_use_is_reported_and_leaves_the_view_as_it_was():
    import copy

    evts = recorded_events()
    view = fold(evts)
    before = copy.deepcopy(view)
    epoch = next(e for e in evts if e.kind == "epoch")
    broken = type(epoch)("epoch", epoch.time + 1, {**epoch.data, "phi": {"normal": 5}})
    skipped = state.apply(view, broken)
    assert skipped == view.errors[-1] and skipped.kind == "epoch"
    assert "TypeError" in skipped.message
    view.errors.clear()
    assert view == before
