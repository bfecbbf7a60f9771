"""End to end: a tiny real search through the CLI, its run directory, resume and derive."""

import json
import os
import subprocess
import sys

import keras
import pytest

from asap_keras import cli, events
from asap_keras.cli import main
from asap_keras.config import load_config
from asap_keras.search.runner import run_search


class InterruptAt(keras.callbacks.Callback):
    """Simulates a kill in the middle of an epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


class InterruptAfterEpoch(keras.callbacks.Callback):
    """Simulates a kill after an epoch's checkpoint, before the search's end is written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, configs_dir=None):
    from tests.conftest import ROOT

    runs = tmp_path_factory.mktemp("runs")
    code = main(["search", str(ROOT / "configs/smoke.toml"), "--set", f"run.runs_dir='{runs}'",
                 "--verbose", "0"])
    assert code == 0
    (run,) = list(runs.iterdir())
    return run


def read_events(run):
    return [events.decode(line) for line in (run / "events.jsonl").read_text().splitlines()]


def test_run_directory_is_complete(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert {"config.resolved.toml", "run.json", "events.jsonl", "genotype.json",
            "checkpoints", "tensorboard"} <= names
    assert load_config(finished_run / "config.resolved.toml").run.name == "smoke"
    assert any((finished_run / "tensorboard").iterdir())


def test_event_stream_tells_the_whole_search(finished_run):
    log = read_events(finished_run)
    kinds = [e.kind for e in log]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    steps_per_epoch = log[0]["steps_per_epoch"]
    epochs = [e for e in log if e.kind == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(len(epochs)))
    temps = [e["temperature"] for e in epochs]
    assert temps == sorted(temps, reverse=True) and temps[0] == pytest.approx(1.3)
    assert epochs[0]["grace"] and not epochs[-1]["grace"]
    for e in epochs:
        for cell_type, rows in e["phi"].items():
            assert len(rows) == 14 and all(abs(sum(r) - 1) < 1e-4 for r in rows)
            # Phi and the masks describe the same moment: pruned ops weigh 0.
            for phi_row, alive_row in zip(rows, e["alive"][cell_type]):
                assert all(a or p == 0 for p, a in zip(phi_row, alive_row))
        assert {"loss", "val_loss"} <= set(e["metrics"])
        assert e["sparsity"] == pytest.approx(1 - e["live_ops"] / e["total_ops"])
    sparsity = [e["sparsity"] for e in epochs]
    assert sparsity == sorted(sparsity)
    # Each prune names the step it happened in, inside its epoch, and an op dead afterwards.
    prunes = [e for e in log if e.kind == "prune"]
    for p in prunes:
        assert p["epoch"] * steps_per_epoch <= p["step"] < (p["epoch"] + 1) * steps_per_epoch
        after = next(e for e in epochs if e["epoch"] == p["epoch"])
        assert after["alive"][p["cell"]][p["edge"]][after["ops"].index(p["op"])] == 0
        assert p["weight"] < p["threshold"]
    # Gradual: ops die at several steps, in more than one epoch, not in one final sweep.
    assert len({p["step"] for p in prunes}) >= 3 and len({p["epoch"] for p in prunes}) >= 2
    traces = [e for e in log if e.kind == "trace" and e["reason"] != "validation"]
    assert traces[0]["reason"] == "start" and traces[0]["live_ops"] == epochs[0]["total_ops"]
    assert "grace_end" in {t["reason"] for t in traces}
    assert traces[-1]["live_ops"] < traces[0]["live_ops"]
    # Validation traces its test function once per structure it computes: first the whole
    # supernet's, at epoch 0's end; then only after prunes, each smaller, never under the
    # epoch's live ops (dead ops may still be computed), at most one per epoch.
    # The last one is the final prune's: the derived cell's test function, after the epochs.
    *validation, final = [e for e in log if e.kind == "trace" and e["reason"] == "validation"]
    final_prune = next(e for e in log if e.kind == "final_prune")
    assert log.index(epochs[-1]) < log.index(final) < log.index(final_prune)
    assert (final["epoch"], final["live_ops"]) == (final_prune["epoch"], final_prune["live_ops"])
    assert validation[0]["epoch"] == 0 and validation[0]["live_ops"] == epochs[0]["total_ops"]
    assert len(validation) >= 2 and len({v["epoch"] for v in validation}) == len(validation)
    sizes = [v["live_ops"] for v in validation]
    assert sizes == sorted(set(sizes), reverse=True)
    for v in validation:
        assert v["seconds"] > 0 and v["live_ops"] >= epochs[v["epoch"]]["live_ops"]
    assert any(e.kind == "step" for e in log)


def test_the_search_ends_discrete_with_a_cell_that_reads_intermediate_nodes(finished_run):
    log = read_events(finished_run)
    last = [e for e in log if e.kind == "epoch"][-1]
    assert last["discrete"] and log[-1]["reason"] == "discrete"
    assert all(sum(row) == 1 for rows in last["alive"].values() for row in rows)
    saved = json.loads((finished_run / "genotype.json").read_text())
    # The regression this guards: every node wired to the two cell inputs only.
    sources = [src for cell in ("normal", "reduce") for _, src in saved[cell]]
    assert max(sources) >= 2


def test_the_final_prune_validates_the_derived_cell_inside_the_supernet(finished_run):
    log = read_events(finished_run)
    (final,) = [e for e in log if e.kind == "final_prune"]
    last = [e for e in log if e.kind == "epoch"][-1]
    saved = json.loads((finished_run / "genotype.json").read_text())
    assert final["genotype"] == saved and final["epoch"] == last["epoch"]
    assert final["val_accuracy_before"] == last["metrics"]["val_accuracy"]
    assert 0.0 <= final["val_accuracy"] <= 1.0
    # 3 cells, each cut to its 8 chosen edges with one op: 24 of the 168 candidates.
    assert (final["live_ops"], final["total_ops"]) == (24, 168)
    # The search's saved state is untouched by it: derive still reads the discrete masks.
    assert last["live_ops"] == 42


METHOD_OVERRIDES = {
    "darts": ["search.method='darts'", "search.epochs=2"],
    "magnitude": ["search.method='magnitude'", "search.epochs=3"],
    "accum_grad": ["search.method='accum_grad'", "search.epochs=3",
                   "search.accum_grad.power=1"],
}


@pytest.mark.parametrize("method", sorted(METHOD_OVERRIDES))
def test_every_method_runs_end_to_end_on_the_same_engine(method, tmp_path, configs_dir,
                                                         capsys):
    args = ["search", str(configs_dir / "smoke.toml"), "--set", f"run.runs_dir='{tmp_path}'",
            "--verbose", "0"]
    for override in METHOD_OVERRIDES[method]:
        args += ["--set", override]
    assert main(args) == 0
    (run,) = list(tmp_path.iterdir())
    # stdout's last line is the run directory: run=$(asap-keras search ... | tail -1)
    assert capsys.readouterr().out.splitlines()[-1] == str(run)
    log = read_events(run)
    assert log[0]["config"]["search"]["method"] == method and log[-1]["status"] == "finished"
    epochs = [e for e in log if e.kind == "epoch"]
    prunes = [e for e in log if e.kind == "prune"]
    assert all(e["temperature"] == 1.0 and not e["grace"] for e in epochs)
    if method == "darts":
        assert not prunes and all(e["live_ops"] == e["total_ops"] for e in epochs)
        assert log[-1]["reason"] == "epoch_cap"
    else:
        # Zhu-Gupta with t0 = round(0.4 * 3) = 1, E_f = 3: prunes after epochs 1 and 2 only,
        # at each epoch's last step; one op per edge at the end.
        steps = log[0]["steps_per_epoch"]
        assert {p["epoch"] for p in prunes} == {1, 2}
        assert all(p["step"] == (p["epoch"] + 1) * steps - 1 for p in prunes)
        assert epochs[-1]["discrete"] and log[-1]["reason"] == "discrete"
    final = next(e for e in log if e.kind == "final_prune")
    assert final["live_ops"] == 24
    saved = json.loads((run / "genotype.json").read_text())
    assert main(["derive", str(run)]) == 0
    assert json.loads(capsys.readouterr().out) == saved == final["genotype"]


def test_the_rebuild_ratio_hint_is_never_an_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "events.jsonl").write_text('{"v": 1, "kind": "trace"\n')
    assert cli._measured_rebuild_ratio(cli._run_log(broken)) is None  # a hint: never an error
    assert cli._measured_rebuild_ratio(cli._run_log(tmp_path / "missing")) is None
    assert cli._trace_report(broken) == cli._trace_report(tmp_path / "missing") == []


def test_genotype_file_event_and_derive_agree(finished_run, capsys):
    saved = json.loads((finished_run / "genotype.json").read_text())
    assert len(saved["normal"]) == 8 and len(saved["reduce"]) == 8
    last_event = [e for e in read_events(finished_run) if e.kind == "genotype"][-1]
    assert last_event["genotype"] == saved
    assert main(["derive", str(finished_run)]) == 0
    assert json.loads(capsys.readouterr().out) == saved


def test_resume_after_a_kill_mid_epoch_reaches_the_same_genotype(tmp_path, configs_dir,
                                                                   finished_run):
    # `finished_run` is the uninterrupted search: same config, same seed.
    cfg = load_config(configs_dir / "smoke.toml", [f"run.runs_dir='{tmp_path}'"])
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, extra_callbacks=[InterruptAt(epoch=2, batch=1)])
    (interrupted,) = list(tmp_path.iterdir())
    assert not (interrupted / "genotype.json").exists()
    assert read_events(interrupted)[-1]["status"] == "interrupted"
    _, resumed = run_search(resume=interrupted)
    assert resumed.to_json() == (finished_run / "genotype.json").read_text().strip()
    starts = [e["start_epoch"] for e in read_events(interrupted) if e.kind == "run_start"]
    assert starts == [0, 2]
    # Not only the genotype: the last epoch's op weights and masks match the straight run's.
    last = [[e for e in read_events(run) if e.kind == "epoch"][-1]
            for run in (finished_run, interrupted)]
    assert last[0]["epoch"] == last[1]["epoch"] == 2
    assert last[0]["alive"] == last[1]["alive"]
    for cell_type, rows in last[0]["phi"].items():
        for straight_row, resumed_row in zip(rows, last[1]["phi"][cell_type]):
            assert resumed_row == pytest.approx(straight_row, abs=1e-5)


def _cost_rule_runs_never_rebuilt(tmp_path, configs_dir, kill):
    """A straight smoke search and one stopped by the callback `kill`, both under the cost
    rule with a ratio no prune pays: their step computes every op from grace's end on."""
    overrides = ['search.prune.rebuild="cost"', "search.prune.rebuild_cost_ratio=1e6"]
    straight_cfg = load_config(configs_dir / "smoke.toml",
                               [f"run.runs_dir='{tmp_path / 'straight'}'", *overrides])
    straight, _ = run_search(straight_cfg)
    cfg = load_config(configs_dir / "smoke.toml",
                      [f"run.runs_dir='{tmp_path / 'killed'}'", *overrides])
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, extra_callbacks=[kill])
    (interrupted,) = list((tmp_path / "killed").iterdir())
    return straight, interrupted


def test_a_resume_under_the_cost_rule_traces_the_step_the_search_was_running(tmp_path,
                                                                            configs_dir):
    # A rebuild cost no prune pays: from grace's end the step keeps computing every op, and
    # its dead ops cross the epoch-1 checkpoint. The resumed step must compute them too: it
    # then sums the gradients in the same order and its numbers are the straight run's, bit
    # for bit (a step rebuilt from the masks agrees only to rounding).
    straight, interrupted = _cost_rule_runs_never_rebuilt(tmp_path, configs_dir,
                                                          InterruptAt(epoch=2, batch=1))
    _, resumed = run_search(resume=interrupted)
    traces = [e for e in read_events(straight) if e.kind == "trace"]
    # Never rebuilt for prunes. Validation traced the test function at epoch 0's end, again
    # at the end (remade when the search stopped with one op per edge), and once more for
    # the final prune's derived cell.
    assert [t["reason"] for t in traces] == ["start", "validation", "grace_end",
                                             "validation", "validation"]
    traces = traces[:3]
    epoch_1 = [e for e in read_events(interrupted) if e.kind == "epoch" and e["epoch"] == 1]
    assert epoch_1[0]["live_ops"] < traces[-1]["live_ops"]  # dead ops crossed the checkpoint
    resumed_trace = [e for e in read_events(interrupted)
                     if e.kind == "trace" and e["reason"] != "validation"][-1]
    assert resumed_trace["reason"] == "start" and resumed_trace["live_ops"] == traces[-1][
        "live_ops"]
    last = [[e for e in read_events(run) if e.kind == "epoch"][-1]
            for run in (straight, interrupted)]
    assert last[0]["epoch"] == last[1]["epoch"] == 2
    assert last[0]["phi"] == last[1]["phi"] and last[0]["alive"] == last[1]["alive"]
    assert last[0]["metrics"] == {k: v for k, v in last[1]["metrics"].items()
                                  if k in last[0]["metrics"]}
    assert resumed.to_json() == (straight / "genotype.json").read_text().strip()
    # The straight run's one non-grace trace is grace_end's, which traced only the
    # architecture phase: no rebuild to measure. The resume's start traced the whole step at
    # the first batch of its epoch: the run measures its rebuild ratio from it.
    assert cli._measured_rebuild_ratio(cli._run_log(straight)) is None
    assert cli._measured_rebuild_ratio(cli._run_log(interrupted)) > 0


def test_a_resume_that_only_remains_to_end_validates_the_derived_cell(tmp_path, configs_dir):
    # Killed after the last epoch's checkpoint: the resume has no epoch left and goes straight
    # to the final prune. Under the cost rule that checkpoint holds a step still computing
    # dead ops (no prune paid for a rebuild), which the resume would trace for its next
    # step; the final prune must validate the derived cell all the same, as the straight
    # run does.
    straight, interrupted = _cost_rule_runs_never_rebuilt(tmp_path, configs_dir,
                                                          InterruptAfterEpoch(2))
    assert not [e for e in read_events(interrupted) if e.kind == "final_prune"]
    _, resumed = run_search(resume=interrupted)
    assert resumed.to_json() == (straight / "genotype.json").read_text().strip()
    finals = []
    for run in (straight, interrupted):
        log = read_events(run)
        (final,) = [e for e in log if e.kind == "final_prune"]
        # The final prune's validation traced the derived cell: 3 cells x 8 edges x 1 op.
        last_trace = [e for e in log if e.kind == "trace"][-1]
        assert (last_trace["reason"], last_trace["live_ops"]) == ("validation", 24)
        finals.append(final)
    assert [e["start_epoch"] for e in read_events(interrupted) if e.kind == "run_start"] == [
        0, 3]
    assert finals[1]["live_ops"] == finals[0]["live_ops"] == 24
    assert finals[1]["val_accuracy"] == pytest.approx(finals[0]["val_accuracy"], abs=1e-6)
    assert finals[1]["val_loss"] == pytest.approx(finals[0]["val_loss"], rel=1e-5)


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, configs_dir, finished_run):
    assert main(["search", str(configs_dir / "smoke.toml"), "--set", "search.anneal.betta=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "search.anneal.betta" in err
    assert main(["search", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
    assert main(["derive", str(tmp_path / "missing-run")]) == 2
    assert "missing-run" in capsys.readouterr().err
    # A corrupt checkpoint is named, and nothing in the run directory is touched.
    ckpts = sorted((finished_run / "checkpoints").iterdir())
    newest = ckpts[-1]
    original = newest.read_bytes()
    newest.write_bytes(original[: len(original) // 2])
    before = {p.name: p.stat().st_size for p in finished_run.rglob("*") if p.is_file()}
    try:
        assert main(["search", "--resume", str(finished_run)]) == 2
        assert newest.name in capsys.readouterr().err
        after = {p.name: p.stat().st_size for p in finished_run.rglob("*") if p.is_file()}
        assert after == before
    finally:
        newest.write_bytes(original)


def mirrored_search(tmp_path, configs_dir, *overrides):
    """A search under MirroredStrategy on two logical CPUs (a subprocess); its event log.

    Two replicas double the traced graph, so the space is cut to 2 nodes and 3 ops.
    """
    args = ["search", str(configs_dir / "smoke.toml"), "--strategy", "mirrored", "--verbose",
            "0"]
    for override in (f"run.runs_dir='{tmp_path}'", "space.nodes=2",
                     'space.ops=["sep_conv_3x3","max_pool_3x3","skip_connect"]', *overrides):
        args += ["--set", override]
    script = (
        "import tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "devices = [tf.config.LogicalDeviceConfiguration()] * 2\n"
        "tf.config.set_logical_device_configuration(cpu, devices)\n"
        "from asap_keras.cli import main\n"
        f"raise SystemExit(main({args!r}))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = list(tmp_path.iterdir())
    return read_events(run)


@pytest.mark.skipif(sys.platform != "linux", reason="logical CPU devices")
def test_darts_second_order_under_mirrored_strategy(tmp_path, configs_dir):
    log = mirrored_search(tmp_path, configs_dir, "search.method='darts'",
                          "search.darts.order=2", "search.epochs=1")
    assert log[0]["replicas"] == 2 and log[-1]["status"] == "finished"
    (epoch,) = [e for e in log if e.kind == "epoch"]
    assert epoch["metrics"]["arch_loss"] > 0 and epoch["metrics"]["loss"] > 0
    # Every replica took the same unrolled step: the alphas left the uniform start.
    assert any(abs(p - 1 / 3) > 1e-4 for row in epoch["phi"]["reduce"] for p in row)


@pytest.mark.skipif(sys.platform != "linux", reason="logical CPU devices")
def test_mirrored_strategy_on_two_logical_cpus(tmp_path, configs_dir):
    # T0 is below the grace temperature so both epochs run architecture steps.
    log = mirrored_search(tmp_path, configs_dir, "search.epochs=2", "search.anneal.t0=0.9")
    assert log[0]["replicas"] == 2 and log[-1]["status"] == "finished"
    epochs = [e for e in log if e.kind == "epoch"]
    assert len(epochs) == 2 and not epochs[0]["grace"]
    assert all(e["metrics"]["loss"] > 0 and e["metrics"]["arch_loss"] > 0 for e in epochs)
    # The step pruned under the strategy, and a later step ran the rebuilt, smaller graph.
    assert any(e.kind == "prune" and e["epoch"] == 0 for e in log)
    traces = [e for e in log if e.kind == "trace" and e["reason"] != "validation"]
    assert traces[0]["live_ops"] == epochs[0]["total_ops"]
    assert traces[-1]["live_ops"] < traces[0]["live_ops"]
    assert traces[-1]["live_ops"] >= epochs[-1]["live_ops"]


class PoisonAt(keras.callbacks.Callback):
    """Makes the next step's loss NaN by writing NaN into the classifier at (epoch, batch)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            kernel = self.model.network.classifier.kernel
            kernel.assign(kernel.numpy() * float("nan"))


def test_a_diverged_search_stops_in_the_step_and_keeps_its_last_good_checkpoint(tmp_path,
                                                                                 configs_dir):
    from asap_keras.stopping import DivergedError

    cfg = load_config(configs_dir / "smoke.toml", [f"run.runs_dir='{tmp_path}'"])
    with pytest.raises(DivergedError, match=r"loss became nan at epoch 1, step 3 of 5"):
        run_search(cfg, extra_callbacks=[PoisonAt(epoch=1, batch=1)])
    (run,) = list(tmp_path.iterdir())
    log = read_events(run)
    assert log[-1].kind == "run_end" and log[-1]["status"] == "failed"
    assert "epoch 1, step 3" in log[-1]["reason"] and log[-1]["epoch"] == 0
    assert not (run / "genotype.json").exists()
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["ckpt-epoch-0001.npz"]
    assert [e["epoch"] for e in log if e.kind == "epoch"] == [0]
    # Nothing of the NaN step was reported: no prune and no epoch event after it.
    assert not [e for e in log if e.kind == "prune" and e["epoch"] == 1 and e["step"] >= 7]


def test_a_search_driven_to_diverge_fails_cleanly(tmp_path, capsys, configs_dir):
    args = ["search", str(configs_dir / "smoke.toml"), "--set", f"run.runs_dir='{tmp_path}'",
            "--set", "search.weight_optimizer.lr=1e6", "--set",
            "search.weight_optimizer.lr_min=1e3", "--set", "search.weight_optimizer.clipnorm=1e9",
            "--verbose", "0"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged: loss became nan at epoch" in err
    (run,) = list(tmp_path.iterdir())
    log = read_events(run)
    finished = [e["epoch"] for e in log if e.kind == "epoch"]
    assert log[-1]["status"] == "failed" and log[-1]["epoch"] == len(finished) - 1
    assert f"at epoch {len(finished)}," in log[-1]["reason"]
    assert not (run / "genotype.json").exists()
    assert len(list((run / "checkpoints").iterdir())) == len(finished)


def test_tensorboard_holds_keras_metrics_and_the_search_scalars(finished_run):
    from tests.tensorboard_events import read_summaries

    board = finished_run / "tensorboard"
    epochs = [e for e in read_events(finished_run) if e.kind == "epoch"]
    train, val = read_summaries(board / "train"), read_summaries(board / "validation")
    # Keras' own callback: one chart per metric, training and validation on it.
    assert ("epoch_loss", "scalars") in train and ("epoch_loss", "scalars") in val
    assert ("epoch_accuracy", "scalars") in val
    search = read_summaries(board / "search")
    # The same numbers as the event log, epoch by epoch.
    for key in ("temperature", "sparsity", "live_ops"):
        series = search[(key, "scalars")]
        assert [series[e["epoch"]] for e in epochs] == pytest.approx(
            [e[key] for e in epochs], rel=1e-6)
    for cell_type in ("normal", "reduce"):
        assert ("entropy_" + cell_type, "scalars") in search
        assert ("weights_" + cell_type, "histograms") in search
        image = search[("weights_" + cell_type, "images")]
        assert set(image) == {e["epoch"] for e in epochs}
