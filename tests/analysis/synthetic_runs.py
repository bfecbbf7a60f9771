"""Synthetic search logs with hand-chosen numbers, written with `events.encode`."""

import json
from pathlib import Path

from asap_keras import events
from asap_keras.child.genotypes import BUILT_IN

CLASSES = [str(i) for i in range(10)]
DARTS_V2 = BUILT_IN["darts_v2"].to_dict()
ASAP = BUILT_IN["asap"].to_dict()
# The search network's [space] table of the runs (3 cells of C=4, as configs/smoke.toml).
SPACE = {"ops": ["sep_conv_3x3", "dil_conv_3x3", "max_pool_3x3", "skip_connect"], "cells": 3,
         "channels": 4, "nodes": 4, "stem_multiplier": 3}


def line(kind, when, **fields) -> str:
    return events.encode(kind, when=when, **fields)


def run_start(when, start_epoch=0, method="asap", order=None, run_kind=None,
              image_shape=(8, 8, 1), space=SPACE):
    search = {"method": method, "epochs": 50}
    if order is not None:
        search[method] = {"order": order}
    extra = {"run_kind": run_kind} if run_kind else {}
    config = {"search": search, **({"space": space} if space else {})}
    return line("run_start", when, run="r", config=config, versions={}, seed=0,
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


def pareto(when, number, madds, accuracy, cell):
    """GOLD-NAS' record of one epoch (params: a hundredth of the multiply-adds)."""
    return line("pareto", when, epoch=number, genotype=cell, multiply_adds=madds,
                params=madds // 100, val_accuracy=accuracy, entered=True)


def one_op_cell(op):
    """A DARTS cell whose eight edges per cell type all hold `op`, from both inputs."""
    pairs = [[op, 0], [op, 1]] * 4
    return {"normal": pairs, "normal_concat": [2, 3, 4, 5], "reduce": pairs,
            "reduce_concat": [2, 3, 4, 5]}


MAX_CELL, AVG_CELL = one_op_cell("max_pool_3x3"), one_op_cell("avg_pool_3x3")
# Multiply-adds of either pool cell's evaluation network at SPACE's size (3 cells, C=4) on
# 8x8x1 images and 10 classes, by hand (pools count none; cells 1 and 2 are reductions):
# stem 3x3 1->12 at 8x8: 6912; cell 0: 1x1 12->4 twice at 8x8: 2 * 3072; cell 1: 1x1 12->8
# and 16->8 at 8x8: 6144 + 8192; cell 2: FactorizedReduce 16 -> 2 x 8 at 4x4: 4096, and
# 1x1 32->16 at 4x4: 8192; the classifier 64 -> 10: 640.
POOL_CELL_MADDS = 40320

# Run "gold-a": five Pareto records `(epoch, multiply-adds, accuracy, the cell's one op)`.
# Epoch 1 beats epoch 0 (cheaper and more accurate), epoch 2 beats epoch 3: the
# non-dominated records are epochs 4, 2 and 1.
GOLD_RECORDS = [(0, 5_000_000, 0.50, "sep_conv_3x3"), (1, 4_000_000, 0.60, "dil_conv_3x3"),
                (2, 3_000_000, 0.55, "skip_connect"), (3, 3_500_000, 0.52, "sep_conv_5x5"),
                (4, 2_000_000, 0.40, "dil_conv_5x5")]
GOLD_A = [
    run_start(7000.0, method="gold"),
    *[text for n, madds, accuracy, op in GOLD_RECORDS
      for text in (epoch(7010.0 + 10 * n, n, 10.0, val_accuracy=accuracy),
                   pareto(7010.0 + 10 * n, n, madds, accuracy, one_op_cell(op)))],
    final_prune(7060.0, 4, 0.58, 0.40, 14, 112, MAX_CELL),
    run_end(7061.0, 61.0, 4),
]
# Run "asap-b": no Pareto records, its cell at 0.45.
ASAP_B = [run_start(8000.0), epoch(8010.0, 0, 10.0, val_accuracy=0.4),
          final_prune(8011.0, 0, 0.45, 0.4, 14, 112, AVG_CELL), run_end(8012.0, 12.0, 0)]
# Run "no-size": its config names no search network size, so its cell cannot be costed.
NO_SIZE = [run_start(9000.0, space=None), epoch(9010.0, 0, 10.0, val_accuracy=0.3),
           final_prune(9011.0, 0, 0.35, 0.3, 14, 112, MAX_CELL), run_end(9012.0, 12.0, 0)]
# Run "gold-file": records only in pareto.json (two, neither dominating the other).
GOLD_FILE = [run_start(9500.0, method="gold"), epoch(9510.0, 0, 10.0, val_accuracy=0.3),
             epoch(9520.0, 1, 10.0, val_accuracy=0.35),
             final_prune(9521.0, 1, 0.36, 0.35, 14, 112, MAX_CELL), run_end(9522.0, 22.0, 1)]
GOLD_FILE_ENTRIES = [
    {"epoch": 0, "genotype": one_op_cell("sep_conv_3x3"), "multiply_adds": 1_000_000,
     "params": 10_000, "val_accuracy": 0.3},
    {"epoch": 1, "genotype": one_op_cell("dil_conv_3x3"), "multiply_adds": 1_500_000,
     "params": 15_000, "val_accuracy": 0.35},
]


def record_entry(number, madds, accuracy, op):
    """A `GOLD_RECORDS` row as a `pareto.json` entry."""
    return {"epoch": number, "genotype": one_op_cell(op), "multiply_adds": madds,
            "params": madds // 100, "val_accuracy": accuracy}


# gold-a's pareto.json as the search writes it: the front, by multiply-adds.
GOLD_A_FRONT = [record_entry(*GOLD_RECORDS[n]) for n in (4, 2, 1)]
