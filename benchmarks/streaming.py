"""Peak memory and data throughput of a search's input, in memory vs streamed from disk.

Not part of CI. Reads the real CIFAR-10 JPEG folder (50,000 images; extracted from
../shared/data/cifar10-train-jpeg.tar.gz into benchmarks/data/cifar10/train by
search_quality.py), optionally upsampled so that the decoded set outgrows memory, and for
each `data.stream` mode runs, in a fresh process, what a search does with its data: load,
split, channel statistics, one epoch of (weight, arch) batches with augmentation and the
validation pass. Writes benchmarks/results/streaming.json.

    python benchmarks/streaming.py [--sizes 32,96] [--limit 0]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
ROOT = HERE / "data" / "cifar10" / "train"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(mode: str, size: int, limit: int) -> dict:
    """One process's numbers (run in a child: peak RSS is per process)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from asap_keras.data.search_split import SearchData
    from asap_keras.data.sources import ImageSet, load_images

    import_rss = rss_mb()
    started = time.perf_counter()
    images = load_images("folder", root=str(ROOT), image_size=size, limit=limit, seed=0,
                         stream=mode)
    data = SearchData(images, 64, 0.1, seed=0, augment=True)
    loaded = time.perf_counter()
    after_load = rss_mb()
    steps = 0
    for _ in data.train_dataset(0, 1):
        steps += 1
    trained = time.perf_counter()
    val = sum(int(x.shape[0]) for x, _ in data.val_dataset())
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"stream": mode, "image_size": size, "images": images.count,
            "in_memory": isinstance(images, ImageSet),
            "decoded_mb": round(images.count * size * size * 3 / 2**20, 1),
            "rss_after_import_mb": round(import_rss, 1),
            "rss_after_load_mb": round(after_load, 1), "peak_rss_mb": round(peak, 1),
            "load_seconds": round(loaded - started, 1),
            "epoch_seconds": round(trained - loaded, 1), "epoch_steps": steps,
            "val_seconds": round(done - trained, 1), "val_images": val}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="32,96")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SIZE"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.limit)))
        return
    if not ROOT.is_dir():
        raise SystemExit(f"no CIFAR-10 folder at {ROOT}: run benchmarks/search_quality.py "
                         "once (it extracts ../shared/data/cifar10-train-jpeg.tar.gz)")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in ("never", "always"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(size),
                                  "--limit", str(args.limit)], check=True,
                                 capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    path = HERE / "results" / "streaming.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    main()
