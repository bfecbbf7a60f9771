"""Every search method on the same data, seed and budget, and `asap-keras compare` over them.

Not part of CI. Writes benchmarks/results/methods.json and, per dataset, the compare report
(figures and table) in benchmarks/results/methods_<dataset>/. Usage:

    python benchmarks/methods.py [--dataset digits|cifar10|all] [--only asap,darts-1st,...]

digits: configs/digits.toml's budget (3 cells, C=8, 15 epochs). cifar10: 4,000 images of the
search pool of benchmarks/search_quality.py (never its 10,000 held-out test images), 3 cells,
C=8, 32x32, 10 epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.search_speed import cpu_model, extract, write_results  # noqa: E402

# Each label: the config overrides that make the method (all else equal).
METHOD_RUNS = {
    "asap": {"search": {"method": "asap"}},
    "asap-pac": {"search": {"method": "asap", "anneal": {"schedule": "pac"}}},
    "darts-1st": {"search": {"method": "darts", "darts": {"order": 1}}},
    "darts-2nd": {"search": {"method": "darts", "darts": {"order": 2}}},
    "magnitude-p3": {"search": {"method": "magnitude", "magnitude": {"power": 3}}},
    "accum_grad-p1": {"search": {"method": "accum_grad", "accum_grad": {"power": 1}}},
    "accum_grad-p3": {"search": {"method": "accum_grad", "accum_grad": {"power": 3}}},
    # GOLD-NAS and NAP in their own, free cell topology (any ops per edge, inputs per node).
    "gold": {"search": {"method": "gold"}, "space": {"topology": "free"}},
    "nap": {"search": {"method": "nap"}, "space": {"topology": "free"}},
}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def dataset_config(name: str, runs: Path) -> dict:
    """The shared budget of one dataset: everything but the method."""
    if name == "digits":
        import tomllib

        raw = tomllib.loads((HERE.parent / "configs" / "digits.toml").read_text())
        return merge(raw, {"run": {"runs_dir": str(runs), "seed": 0}})
    root = extract(HERE.parent.parent / "shared/data/cifar10-train-jpeg.tar.gz",
                   HERE / "data" / "cifar10")
    from benchmarks.search_quality import split_holdout

    pool, _ = split_holdout(root, HERE / "data" / "cifar10-holdout")
    return {
        "run": {"name": "cifar10", "seed": 0, "runs_dir": str(runs)},
        "data": {"source": "folder", "root": str(pool), "limit": 4000, "batch_size": 64,
                 "val_fraction": 0.1, "augment": True},
        "space": {"ops": "asap", "cells": 3, "channels": 8},
        "search": {"epochs": 10, "log_every_steps": 10,
                   "anneal": {"t0": 1.3, "beta": 0.75, "grace_temperature": 1.05},
                   "arch_optimizer": {"lr": 6e-3}},
        "runtime": {"deterministic": True},
    }


def run_dataset(name: str, labels, out_root: Path, previous: dict | None = None) -> dict:
    """Runs `labels` on `name`; the report also covers `previous` runs of other labels
    (from an earlier methods.json) whose run directories still exist."""
    from asap_keras.analysis.compare import compare_runs
    from asap_keras.config import config_from_dict
    from asap_keras.search.runner import run_search

    runs = HERE / "data" / "methods-runs" / name
    base = dataset_config(name, runs)
    done = {label: entry for label, entry in (previous or {}).items()
            if label not in labels and label in METHOD_RUNS
            and (Path(entry["run"]) / "events.jsonl").is_file()}
    for label in labels:
        raw = merge(merge(base, {"run": {"name": f"{name}-{label}"}}), METHOD_RUNS[label])
        started = time.time()
        run_path, genotype = run_search(config_from_dict(raw), verbose=2)
        done[label] = {"run": str(run_path), "minutes": (time.time() - started) / 60,
                       "genotype": genotype.to_dict()}
        print(json.dumps({label: round(done[label]["minutes"], 1)}), flush=True)
    report_dir = out_root / f"methods_{name}"
    if report_dir.exists():
        shutil.rmtree(report_dir)
    labels = [label for label in METHOD_RUNS if label in done]
    _, notes = compare_runs([done[label]["run"] for label in labels], report_dir)
    table = json.loads((report_dir / "compare.json").read_text())
    pareto = {label: json.loads((Path(done[label]["run"]) / "pareto.json").read_text())
              for label in labels if (Path(done[label]["run"]) / "pareto.json").is_file()}
    return {"base_config": base, "runs": done, "compare": table, "notes": notes,
            "pareto": pareto}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", choices=("digits", "cifar10", "all"), default="all")
    parser.add_argument("--only", default=",".join(METHOD_RUNS),
                        help="comma-separated labels of " + ", ".join(METHOD_RUNS))
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    labels = [label.strip() for label in args.only.split(",") if label.strip()]
    unknown = [label for label in labels if label not in METHOD_RUNS]
    if unknown:
        raise SystemExit(f"unknown --only labels {unknown}; known: {list(METHOD_RUNS)}")
    out_root = Path(args.out)
    path = out_root / "methods.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.update({"cpu_model": cpu_model(), "cpus": os.cpu_count()})
    names = ("digits", "cifar10") if args.dataset == "all" else (args.dataset,)
    for name in names:
        previous = results.get(name, {}).get("runs")
        results[name] = run_dataset(name, labels, out_root, previous)
        write_results(path, results)


if __name__ == "__main__":
    main()
