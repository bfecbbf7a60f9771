"""Search quality on real CIFAR-10: a reduced ASAP search, then its cell against DARTS_V2 and
random cells, each retrained at one budget and tested on 10,000 held-out images.

Not part of CI. Writes benchmarks/results/search_quality.json. Usage:

    python benchmarks/search_quality.py [--stage all|search|train] [--found RUN_DIR]
        [--search-images 12000] [--search-epochs 12] [--train-images 10000] [--epochs 4]

The 50,000 training images of ../shared/data/cifar10-train-jpeg.tar.gz are split once, with a
fixed seed, into a search/training pool of 40,000 and a test set of 10,000 (1,000 per class)
that no search and no training ever reads; both are folders of links under benchmarks/data/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.search_speed import cpu_model, extract, write_results  # noqa: E402

TEST_PER_CLASS = 1000
SPLIT_SEED = 2026


def split_holdout(root: Path, into: Path) -> tuple[Path, Path]:
    """`(pool, test)`: class folders of links, 1,000 test images per class held out.

    Idempotent: an existing split with the right counts is reused as it is.
    """
    pool, test = into / "pool", into / "test"
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    rng = np.random.default_rng(SPLIT_SEED)
    for name in classes:
        files = sorted((root / name).iterdir())
        held = set(rng.permutation(len(files))[:TEST_PER_CLASS].tolist())
        for target, keep in ((test, True), (pool, False)):
            folder = target / name
            chosen = [f for i, f in enumerate(files) if (i in held) == keep]
            if folder.is_dir() and len(list(folder.iterdir())) == len(chosen):
                continue
            folder.mkdir(parents=True, exist_ok=True)
            for f in chosen:
                link = folder / f.name
                if not link.exists():
                    link.symlink_to(f.resolve())
    return pool, test


def search_config(args, pool: Path, runs: Path) -> dict:
    """The reduced search: what was scaled from the paper's setup, and how, is in README."""
    return {
        "run": {"name": "quality-search", "seed": args.seed, "runs_dir": str(runs)},
        "data": {"source": "folder", "root": str(pool), "limit": args.search_images,
                 "batch_size": 64, "val_fraction": 0.05, "augment": True},
        "space": {"ops": "asap", "cells": args.cells, "channels": args.channels},
        "search": {"epochs": args.search_epochs, "log_every_steps": 20,
                   "anneal": {"t0": 1.3, "beta": args.beta, "grace_temperature": args.grace},
                   "arch_optimizer": {"lr": args.arch_lr}},
        "runtime": {"deterministic": True},
    }


def run_search_stage(args, pool: Path, runs: Path) -> tuple[Path, dict]:
    from asap_keras import events
    from asap_keras.config import config_from_dict
    from asap_keras.search.runner import run_search

    cfg = config_from_dict(search_config(args, pool, runs))
    started = time.time()
    run_path, genotype = run_search(cfg, verbose=2)
    minutes = (time.time() - started) / 60
    log = [events.decode(line) for line in (run_path / "events.jsonl").read_text().splitlines()]
    epochs = [e for e in log if e.kind == "epoch"]
    prunes = [e for e in log if e.kind == "prune"]
    summary = {
        "run": str(run_path), "config": search_config(args, pool, runs),
        "minutes": minutes, "genotype": genotype.to_dict(),
        "end": log[-1]["reason"], "epochs_run": len(epochs),
        "per_epoch": [{"epoch": e["epoch"], "temperature": e["temperature"],
                       "grace": e["grace"], "live_ops": e["live_ops"],
                       "total_ops": e["total_ops"],
                       "pruned": sum(p["epoch"] == e["epoch"] for p in prunes),
                       "seconds": e["epoch_seconds"],
                       "val_accuracy": e["metrics"].get("val_accuracy")} for e in epochs],
        "prune_steps": sorted({p["step"] for p in prunes}),
        "traces": [{"epoch": e["epoch"], "reason": e["reason"], "seconds": e["seconds"],
                    "live_ops": e["live_ops"]} for e in log if e.kind == "trace"],
    }
    return run_path, summary


def train_config(args, pool: Path, test: Path, label: str, runs: Path) -> dict:
    """One retraining budget for every cell (a short run of the paper's network)."""
    return {
        "run": {"name": f"quality-{label}", "seed": args.seed, "runs_dir": str(runs)},
        "data": {"source": "folder", "root": str(pool), "test_root": str(test),
                 "limit": args.train_images, "batch_size": 64},
        "model": {"channels": args.train_channels, "layers": args.layers,
                  "auxiliary": False, "drop_path": 0.0},
        "train": {"epochs": args.epochs, "lr": 0.05, "restarts": 1,
                  "augment": {"crop_flip": True, "cutout": 0, "autoaugment": False,
                              "randaugment": False}},
    }


def run_train_stage(args, pool: Path, test: Path, found: Path, runs: Path) -> dict:
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve
    from asap_keras.child.runner import run_training
    from asap_keras.config import config_from_dict

    cells = [("found", str(found / "genotype.json"), "this search")]
    cells += [("darts_v2", "darts_v2", "built-in DARTS_V2")]
    cells += [(f"random_{s}", f"random:{s}", f"uniform over the space, seed {s}")
              for s in range(args.random)]
    out = {}
    for label, spec, source in cells:
        cfg = config_from_dict(train_config(args, pool, test, label, runs), TrainConfig)
        started = time.time()
        _, res = run_training(cfg, resolve(spec), source, verbose=2)
        out[label] = {"source": source, "genotype": res["genotype"],
                      "test_accuracy": res["test_accuracy"],
                      "test_examples": res["test_examples"],
                      "parameters_m": res["parameters_m"],
                      "multiply_adds_m": res["multiply_adds_m"],
                      "minutes": (time.time() - started) / 60,
                      "epoch_seconds": res["epoch_seconds"]}
        print(json.dumps({label: out[label]["test_accuracy"]}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared/data/"
                                              "cifar10-train-jpeg.tar.gz"))
    parser.add_argument("--stage", choices=("all", "search", "train"), default="all")
    parser.add_argument("--found", help="a finished search run directory (skips the search)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search-images", type=int, default=12000)
    parser.add_argument("--search-epochs", type=int, default=12)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--beta", type=float, default=0.72)
    parser.add_argument("--grace", type=float, default=0.9)
    parser.add_argument("--arch-lr", type=float, default=2e-2)
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--train-channels", type=int, default=12)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--random", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "search_quality.json"))
    args = parser.parse_args()

    root = extract(Path(args.data), HERE / "data" / "cifar10")
    pool, test = split_holdout(root, HERE / "data" / "cifar10-holdout")
    runs = HERE / "data" / "runs"
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.is_file() else {}
    results.update({"cpu_model": cpu_model(), "cpus": os.cpu_count(),
                    "split": {"pool": 40000, "test": 10 * TEST_PER_CLASS,
                              "seed": SPLIT_SEED}})
    found = Path(args.found) if args.found else None
    if args.stage in ("all", "search") and found is None:
        found, results["search"] = run_search_stage(args, pool, runs)
        write_results(out_path, results)
    if args.stage in ("all", "train"):
        if found is None:
            found = Path(results.get("search", {}).get("run", ""))
            if not (found / "genotype.json").is_file():
                raise SystemExit("no search run: run --stage search first or pass --found")
        results["train_budget"] = train_config(args, pool, test, "LABEL", runs)
        results["cells"] = run_train_stage(args, pool, test, found, runs)
        write_results(out_path, results)


if __name__ == "__main__":
    main()
