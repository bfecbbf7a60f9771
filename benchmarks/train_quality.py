"""Retraining quality at a reduced budget on real CIFAR-10 images: DARTS_V2 vs a found cell.

Not part of CI. Writes benchmarks/results/train_quality.json. Usage:

    python benchmarks/train_quality.py [--found runs/<digits run>/genotype.json]
        [--images 5000] [--epochs 3] [--channels 8] [--layers 8]

Without --found, the cell comes from a `configs/digits.toml`-style search run here first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.search_speed import cpu_model, extract, write_results  # noqa: E402


def found_genotype(path: str | None) -> tuple[str, str]:
    """A genotype file: the one given, or the result of a fresh digits search."""
    if path:
        return path, path
    from asap_keras.config import load_config
    from asap_keras.search.runner import run_search

    runs = tempfile.mkdtemp(prefix="asap-bench-")
    cfg = load_config(HERE.parent / "configs/digits.toml", [f"run.runs_dir='{runs}'"])
    run_path, _ = run_search(cfg, verbose=0)
    return str(run_path / "genotype.json"), "configs/digits.toml search"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared/data/"
                                              "cifar10-train-jpeg.tar.gz"))
    parser.add_argument("--found", help="genotype.json of a search run")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", default=str(HERE / "results" / "train_quality.json"))
    args = parser.parse_args()

    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve
    from asap_keras.child.runner import run_training
    from asap_keras.config import config_from_dict

    root = extract(Path(args.data), HERE / "data" / "cifar10")
    found_path, found_source = found_genotype(args.found)
    runs = tempfile.mkdtemp(prefix="asap-train-bench-")
    results = {"cpu_model": cpu_model(), "cpus": os.cpu_count(), "images": args.images,
               "held_out_fraction": 0.2, "epochs": args.epochs, "channels": args.channels,
               "layers": args.layers, "batch": args.batch, "cells": {}}
    for label, spec, source in (("darts_v2", "darts_v2", "built-in DARTS_V2"),
                                ("found", found_path, found_source)):
        cfg = config_from_dict({
            "run": {"name": f"bench-{label}", "runs_dir": runs},
            "data": {"source": "folder", "root": str(root), "limit": args.images,
                     "val_fraction": 0.2, "batch_size": args.batch},
            "model": {"channels": args.channels, "layers": args.layers},
            "train": {"epochs": args.epochs, "restarts": 1},
        }, TrainConfig)
        started = time.time()
        _, out = run_training(cfg, resolve(spec), source, verbose=2)
        results["cells"][label] = {
            "source": source, "genotype": out["genotype"],
            "test_accuracy": out["test_accuracy"], "parameters_m": out["parameters_m"],
            "multiply_adds_m": out["multiply_adds_m"], "epoch_seconds": out["epoch_seconds"],
            "wall_seconds": time.time() - started}
        print(json.dumps({label: results["cells"][label]["test_accuracy"]}), flush=True)
    write_results(args.out, results)


if __name__ == "__main__":
    main()
