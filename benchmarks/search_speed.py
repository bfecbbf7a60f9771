"""Search speed on real CIFAR-10 images: trace cost and step time as ops are pruned.

Not part of CI. Writes benchmarks/results/search_speed.json. Usage:

    python benchmarks/search_speed.py [--data ../shared/data/cifar10-train-jpeg.tar.gz]
        [--batch 64] [--cells 8] [--channels 16] [--steps 3] [--ratio-steps 20]
        [--images 1024] [--stages 7,4,2,1]
    python benchmarks/search_speed.py --trace-share digits [digits:epoch] [RUN_DIR ...]

`--trace-share` measures instead the share of a whole search spent building step graphs:
the `trace` events' seconds (train functions' and, reason "validation", test functions')
over the search's seconds (`run_end`, every session), for a fresh
`configs/digits.toml` search ("digits"; "digits:RULE" sets `search.prune.rebuild = RULE`)
or for finished run directories (e.g. the reduced CIFAR-10 search of search_quality.py); it
is merged into the results file as "trace_share".

Each stage also reports its memory: `rss_mib` at its end and `peak_rss_mib`, the peak since the
stage began (Linux: the peak count is restarted per stage through /proc/self/clear_refs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def extract(tarball: Path, into: Path) -> Path:
    """Extracts the CIFAR-10 JPEG tarball once (into a git-ignored folder)."""
    root = into / "train"
    if not root.is_dir():
        into.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xzf", str(tarball), "-C", str(into)], check=True)
    return root


def cpu_model() -> str:
    """The CPU's model name (per-step figures differ several-fold between machines)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def write_results(path: str | Path, results: dict) -> None:
    """Writes a benchmark's results JSON atomically and says where."""
    from asap_keras.run_dir import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


def step_times(model, dataset, steps):
    """Seconds of `steps + 1` training steps; the first includes any trace."""
    import keras

    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[Clock()],
              shuffle=False)
    return times


def memory_mib() -> dict:
    """This process's resident memory now and its peak since the last `reset_peak_memory`
    (Linux /proc; empty elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mib": round(int(fields["VmRSS"].split()[0]) / 1024),
            "peak_rss_mib": round(int(fields["VmHWM"].split()[0]) / 1024)}


def reset_peak_memory() -> None:
    """Restarts the peak-RSS count (VmHWM), so that a stage's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def summary(steady):
    """Median, min and mean of steady step times (medians resist the odd slow step)."""
    steady = sorted(steady)
    return {"step_seconds": round(steady[len(steady) // 2], 3),
            "step_min_seconds": round(steady[0], 3),
            "step_mean_seconds": round(sum(steady) / len(steady), 3), "steps": len(steady)}


def timed_steps(model, dataset, steps):
    """The first step (trace + run) and a summary of the next `steps`."""
    times = step_times(model, dataset, steps)
    return {"first_step_seconds": round(times[0], 2), **summary(times[1:])}


def interleaved_ratio(pruned, built, dataset, steps, rounds=4):
    """Pruned/built step-time ratio from alternating rounds of steps (drift hits both alike)."""
    times = {"pruned": [], "built": []}
    for _ in range(rounds):
        for name, model in (("pruned", pruned), ("built", built)):
            times[name] += step_times(model, dataset, max(1, steps // rounds))[1:]
    medians = {name: summary(t) for name, t in times.items()}
    return {"rounds": rounds, **{f"{name}_{k}": v for name, s in medians.items()
                                 for k, v in s.items() if k != "steps"},
            "steps_each": medians["pruned"]["steps"],
            "ratio": round(medians["pruned"]["step_seconds"] / medians["built"]["step_seconds"],
                           3)}


def trace_share(run_dir: Path) -> dict:
    """Trace seconds over search seconds of a finished search run, from its event log."""
    from asap_keras import events as events_lib
    from asap_keras.search.rebuild import VALIDATION_TRACE
    from asap_keras.search.rebuild import trace_share as share_of

    log = [events_lib.decode(line)
           for line in (run_dir / "events.jsonl").read_text().splitlines()]
    traces = [e for e in log if e.kind == "trace"]
    share = share_of(traces, [e for e in log if e.kind == "run_end"])
    if share is None:
        raise SystemExit(f"{run_dir} has no run_end: not a finished search")
    traced, seconds = share
    # A trace logged without its seconds (null) counts as 0 s, as in `trace_share`.
    validation = [e["seconds"] or 0.0 for e in traces if e.get("reason") == VALIDATION_TRACE]
    return {"run": run_dir.name, "epochs": sum(e.kind == "epoch" for e in log),
            "traces": len(traces), "trace_seconds": round(traced, 1),
            "search_seconds": round(seconds, 1), "trace_share": round(traced / seconds, 3),
            # Test-function traces (logged since 19b6812; included in the above).
            "validation_traces": len(validation),
            "validation_trace_seconds": round(sum(validation), 1)}


def measure_trace_share(targets, out: Path) -> None:
    """`--trace-share`: fresh digits searches ("digits", or "digits:RULE" for a
    `search.prune.rebuild` rule) and/or given run directories."""
    rows = []
    for target in targets:
        if target.split(":")[0] == "digits":
            from asap_keras.config import load_config
            from asap_keras.search.runner import run_search

            rule = target.partition(":")[2]
            overrides = [f'run.runs_dir="{HERE / "data" / "runs"}"']
            if rule:
                overrides.append(f'search.prune.rebuild="{rule}"')
            cfg = load_config(HERE.parent / "configs" / "digits.toml", overrides)
            started = time.perf_counter()
            run_dir, _ = run_search(cfg)
            row = {"workload": "configs/digits.toml", "rebuild": cfg.search.prune.rebuild,
                   **trace_share(run_dir),
                   "wall_seconds": round(time.perf_counter() - started, 1)}
        else:
            row = {"workload": target, **trace_share(Path(target))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results["trace_share"] = rows
    write_results(out, results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared/data/"
                                              "cifar10-train-jpeg.tar.gz"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3,
                        help="steady steps timed per stage with more than one op per edge")
    parser.add_argument("--ratio-steps", type=int, default=20,
                        help="steady steps timed for the one-op stage and the built network "
                             "(their medians make the pruned/built ratio)")
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--stages", default="7,4,2,1",
                        help="ops per edge to time, comma separated; the last one is compared "
                             "with the same cell built from scratch")
    parser.add_argument("--out", default=str(HERE / "results" / "search_speed.json"))
    parser.add_argument("--trace-share", nargs="+", metavar="digits[:RULE]|RUN_DIR",
                        help="measure the trace share of whole searches instead (see above)")
    args = parser.parse_args()
    if args.trace_share:
        measure_trace_share(args.trace_share, Path(args.out))
        return
    try:
        stages = [int(k) for k in args.stages.split(",")]
    except ValueError:
        parser.error(f"--stages must be comma-separated integers. Received: {args.stages!r}")
    if stages[-1] != 1 or any(not 1 <= k <= 7 for k in stages):
        parser.error("--stages must be ops per edge in 1..7 ending with 1 (the pruned/built "
                     f"ratio is taken on the one-op stage). Received: {args.stages!r}")

    import keras
    import numpy as np
    import tensorflow as tf

    from asap_keras.config import config_from_dict
    from asap_keras.data.search_split import SearchData
    from asap_keras.data.sources import load_folder
    from asap_keras.search.model import SearchModel
    from asap_keras.search.optimizers import FusedMomentumSGD
    from asap_keras.search.runner import build_model, configure_runtime
    from asap_keras.space.mixed_op import MixedOp

    configure_runtime(0, deterministic=False)
    root = extract(Path(args.data), HERE / "data" / "cifar10")
    images = load_folder(str(root), limit=args.images, seed=0)
    data = SearchData(images, args.batch, 0.0, seed=0)
    stream = data.train_dataset(0, 1000)
    cfg = config_from_dict({"space": {"cells": args.cells, "channels": args.channels},
                            "data": {"batch_size": args.batch}})

    def fresh_model():
        return build_model(cfg, data.image_shape, data.num_classes, 100)

    results = {"device": "cpu", "cpu_model": cpu_model(), "cpus": os.cpu_count(),
               "tensorflow": tf.__version__,
               "batch": args.batch, "cells": args.cells, "channels": args.channels,
               "image_shape": list(data.image_shape), "phases": "arch + weight (first order)",
               "stages": []}
    model = fresh_model()
    arch = model.network.arch
    arch.arch_enabled.assign(1.0)
    rng = np.random.default_rng(0)
    for cell_type in ("normal", "reduce"):
        arch.alphas[cell_type].assign(rng.normal(size=arch.alphas[cell_type].shape))
    alpha = {t: arch.alphas[t].numpy() for t in ("normal", "reduce")}
    for keep in stages:
        for t in ("normal", "reduce"):
            order = np.argsort(-alpha[t], axis=1)
            mask = np.zeros_like(alpha[t], np.float32)
            np.put_along_axis(mask, order[:, :keep], 1.0, axis=1)
            arch.masks[t].assign(mask)
        reset_peak_memory()
        model.sync_structure(force=True)
        stage = {"ops_per_edge": keep, "live_ops": model.network.traced_op_count(),
                 **timed_steps(model, stream, args.ratio_steps if keep == 1 else args.steps),
                 **memory_mib()}
        results["stages"].append(stage)
        print(json.dumps(stage), flush=True)

    pruned_model = model
    # The same one-op-per-edge cell, built with only those ops from the start.
    chosen = {t: np.argmax(alpha[t], axis=1) for t in ("normal", "reduce")}
    reset_peak_memory()
    network = fresh_model().network
    network.arch.arch_enabled.assign(1.0)
    for cell in network.cells:
        # A new list assigned to the layer attribute, so Keras tracks the new edges' weights.
        cell.edges = [MixedOp(edge.channels, edge.stride,
                              (edge.op_names[chosen[cell.cell_type][e]],), name=edge.name)
                      for e, edge in enumerate(cell.edges)]
    network(tf.zeros((1, *data.image_shape)), training=False)  # builds the new edges
    model = SearchModel(network)
    model.compile(weight_optimizer=FusedMomentumSGD(0.025, momentum=0.9),
                  arch_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.5))
    model.build_optimizers()
    for t in ("normal", "reduce"):
        network.arch.masks[t].assign(np.eye(len(network.op_names), dtype=np.float32)[chosen[t]])
    model.sync_structure(force=True)
    for cell in network.cells:  # each edge now holds just its one op, at index 0
        for edge in cell.edges:
            edge.alive = (0,)
    model.make_train_function(force=True)
    built = {"live_ops": model.network.traced_op_count(),
             **timed_steps(model, stream, args.ratio_steps), **memory_mib()}
    results["built_discrete"] = built
    print(json.dumps(built), flush=True)
    pruned = results["stages"][-1]
    results["pruned_over_built_step_ratio"] = round(
        pruned["step_seconds"] / built["step_seconds"], 3)  # medians
    results["pruned_over_built_min_step_ratio"] = round(
        pruned["step_min_seconds"] / built["step_min_seconds"], 3)
    results["interleaved"] = interleaved_ratio(pruned_model, model, stream, args.ratio_steps)
    results["pruned_over_built_step_ratio_interleaved"] = results["interleaved"]["ratio"]
    print(json.dumps(results["interleaved"]), flush=True)
    # The peak of the whole run: each stage restarted the kernel's count (ru_maxrss too).
    results["peak_rss_mib"] = max(
        [round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)]
        + [part.get("peak_rss_mib", 0) for part in results["stages"] + [built]])
    write_results(args.out, results)


if __name__ == "__main__":
    main()
