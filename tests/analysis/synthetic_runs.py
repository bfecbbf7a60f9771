"""Synthetic search logs with hand-chosen numbers, written with `events.encode`."""

import json
from pathlib import Path

from asap_keras import events
from asap_keras.child.genotypes import BUILT_IN

CLASSES = [str(i) for i in range(10)]
DARTS_V2 = BUILT_IN["darts_v2"].to_dict()
ASAP = BUILT_IN["asap"].to_dict()


def line(kind, when, **fields) -> str:
    return events.encode(kind, when=when, **fields)


def run_start(when, start_epoch=0, method="asap", order=None, run_kind=None,
              image_shape=(8, 8, 1)):
    search = {"method": method, "epochs": 50}
    if order is not None:
        search[method] = {"order": order}
    extra = {"run_kind": run_kind} if run_kind else {}
    return line("run_start", when, run="r", config={"search": search}, versions={}, seed=0,
                start_epoch=start_epoch, image_shape=list(image_shape), class_names=CLASSES,
                **extra)


def epoch(when, number, seconds, grace=False, live=112, total=112, val_accuracy=None,
          entropy=(1.0, 1.0), discrete=False, step_seconds=None):
    metrics = {"loss": 1.0, "accuracy": 0.5}
    if val_accuracy is not None:
        metrics.update(val_accuracy=val_accuracy, val_loss=2.0 - val_accuracy)
    return line("epoch", when, epoch=number, temperature=1.0, threshold=0.05, grace=grace,
                sparsity=1.0 - live / total,
                entropy={"normal": entropy[0], "reduce": entropy[1]}, ops=[], phi={},
                alive={}, metrics=metrics, epoch_seconds=seconds, live_ops=live,
                total_ops=total, discrete=discrete,
                **({} if step_seconds is None else {"step_seconds": step_seconds}))


def trace(when, number, seconds, reason="start"):
    return line("trace", when, epoch=number, seconds=seconds, live_ops=112, reason=reason)


def genotype(when, number, cell):
    return line("genotype", when, epoch=number, genotype=cell)


def final_prune(when, number, val_accuracy, before, live, total, cell):
    return line("final_prune", when, epoch=number, genotype=cell, val_accuracy=val_accuracy,
                val_loss=2.0 - val_accuracy, val_accuracy_before=before, live_ops=live,
                total_ops=total)


def run_end(when, seconds, number, status="finished", reason="discrete"):
    return line("run_end", when, status=status, epoch=number, reason=reason, seconds=seconds)


def write_run(root: Path, name: str, lines, cell=None, kind="search") -> Path:
    """A run directory: events.jsonl, run.json, config.resolved.toml and maybe genotype.json."""
    path = root / name
    path.mkdir(parents=True)
    (path / "events.jsonl").write_text("".join(text + "\n" for text in lines))
    (path / "run.json").write_text(json.dumps({"kind": kind, "seed": 0}))
    (path / "config.resolved.toml").write_text('[search]\nmethod = "asap"\n')
    if cell is not None:
        (path / "genotype.json").write_text(json.dumps(cell))
    return path


# Run "asap-a": two grace epochs, traces, a final prune. Net seconds (epoch minus traces):
# 6, 6, 10, 8, 5; the first epoch with architecture steps (2) is the unit.
ASAP_A = [
    run_start(1000.0),
    trace(1008.0, 0, 8.0), epoch(1014.0, 0, 14.0, grace=True, val_accuracy=0.2),
    epoch(1020.0, 1, 6.0, grace=True, val_accuracy=0.3, entropy=(0.9, 0.7)),
    trace(1025.0, 2, 5.0, "grace_end"),
    epoch(1035.0, 2, 15.0, live=56, val_accuracy=0.4, entropy=(0.5, 0.3)),
    trace(1037.0, 3, 2.0, "epoch_end"), trace(1040.0, 3, 1.0, "prune_fraction"),
    epoch(1046.0, 3, 11.0, live=28, val_accuracy=0.5, entropy=(0.2, 0.1)),
    genotype(1046.0, 3, ASAP),
    epoch(1051.0, 4, 5.0, live=14, val_accuracy=0.6, entropy=(0.0, 0.0), discrete=True),
    final_prune(1053.0, 4, 0.55, 0.6, 14, 112, DARTS_V2),
    run_end(1054.0, 54.0, 4),
]
# Run "asap-resumed": killed during epoch 2 (no run_end), resumed from epoch 2 at t=3000.
# What session 1 logged for epoch 2 (its trace and epoch) is void.
ASAP_RESUMED = [
    run_start(2000.0),
    epoch(2010.0, 0, 10.0, grace=True, val_accuracy=0.1),
    trace(2012.0, 1, 2.0, "grace_end"),
    epoch(2020.0, 1, 10.0, live=80, val_accuracy=0.2),
    trace(2023.0, 2, 3.0, "epoch_end"),
    epoch(2030.0, 2, 10.0, live=40, val_accuracy=0.5),
    run_start(3000.0, start_epoch=2),
    trace(3004.0, 2, 4.0),
    epoch(3012.0, 2, 12.0, live=40, val_accuracy=0.45),
    epoch(3020.0, 3, 6.0, live=14, val_accuracy=0.5, discrete=True),
    final_prune(3021.0, 3, 0.48, 0.5, 14, 112, ASAP),
    run_end(3022.0, 22.0, 3),
]
# Run "darts-old": DARTS second order, no grace, no final_prune, no genotype.json, and a
# damaged line.
DARTS_OLD = [
    run_start(4000.0, method="darts", order=2),
    epoch(4010.0, 0, 10.0, val_accuracy=0.3, entropy=(1.0, 1.0)),
    "{not json",
    epoch(4020.0, 1, 10.0, val_accuracy=0.4, entropy=(0.99, 0.98)),
    genotype(4020.0, 1, DARTS_V2),
    run_end(4021.0, 21.0, 1, reason="epoch_cap"),
]
RETRAIN = [
    run_start(5000.0, run_kind="train"),
    line("train_epoch", 5010.0, epoch=0, metrics={"loss": 1.0}, epoch_seconds=10.0,
         learning_rate=0.025, drop_path=0.0),
    run_end(5011.0, 11.0, 0, reason="epochs"),
]
NO_EPOCHS = [run_start(6000.0), run_end(6001.0, 1.0, 0, status="failed", reason="error")]
