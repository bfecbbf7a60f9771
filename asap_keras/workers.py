"""Runs across machines: the cluster from `TF_CONFIG`, the chief that writes, lost workers.

`runtime.strategy = "multi_worker"` runs a search or a retraining on
`tf.distribute.MultiWorkerMirroredStrategy`, which reads the cluster from the `TF_CONFIG`
environment variable (set per process by Kubernetes, Slurm scripts, Vertex AI, or by hand).
Every worker runs the same program on its share of each batch; variables stay equal through
all-reduces, so every worker takes the same prune decisions and rebuilds the same graph.
Only the chief (task "chief" 0, or "worker" 0 when there is no chief) writes the run
directory; the others write the same files into a scratch directory that is removed when
the run ends, so every worker runs the very same code (a collective op skipped by one worker
would hang the others).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asap_keras.errors import AsapError, ConfigError

MULTI_WORKER = "multi_worker"
_STRATEGY = None  # the process's MultiWorkerMirroredStrategy: TF allows one, made first


class WorkerLost(AsapError):
    """A worker of a multi-worker run stopped; the run can go on with `--resume`."""


@dataclass(frozen=True)
class Task:
    """This process's place in the cluster."""

    kind: str
    index: int
    workers: int
    has_chief: bool = False

    @property
    def name(self) -> str:
        return f"/job:{self.kind}/task:{self.index}"

    @property
    def is_chief(self) -> bool:
        return self.kind == "chief" or (self.kind == "worker" and self.index == 0
                                         and not self.has_chief)


def read_tf_config(environ=None) -> Task:
    """This process's task, from `TF_CONFIG` (a JSON object with "cluster" and "task").

    Raises:
        ConfigError: `TF_CONFIG` is missing or not a cluster description (named, with the
            value received).
    """
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    where = "runtime.strategy='multi_worker' reads the cluster from the TF_CONFIG variable"
    if not raw.strip():
        raise ConfigError(f"{where}, which is not set. Set it per process, e.g. "
                          "TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:2222\", "
                          "\"host2:2222\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}'. "
                          "Received: TF_CONFIG=''")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], task["index"]
        jobs = {name: list(addresses) for name, addresses in cluster.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"{where}: it must be a JSON object with 'cluster' (job name -> "
                          f"list of host:port) and 'task' ('type', 'index') ({err!s}). "
                          f"Received: TF_CONFIG={raw[:200]!r}") from None
    if not isinstance(index, int) or isinstance(index, bool) or kind not in jobs or not (
            0 <= index < len(jobs[kind])):
        raise ConfigError(f"{where}: its task must name a job of its cluster and an index "
                          f"into that job's addresses. Received: TF_CONFIG={raw[:200]!r}")
    workers = sum(len(jobs.get(name, [])) for name in ("chief", "worker"))
    return Task(kind, index, workers, has_chief=bool(jobs.get("chief")))


def multi_worker_strategy():
    """The process's `MultiWorkerMirroredStrategy` (made on first use, then reused).

    TensorFlow configures collective ops when its runtime starts, so the strategy must be
    made before any other TensorFlow work of the process.

    Raises:
        ConfigError: TF_CONFIG is unusable, or TensorFlow already started without it.
    """
    global _STRATEGY
    if _STRATEGY is not None:
        return _STRATEGY
    read_tf_config()  # a clear error before TensorFlow's own
    import tensorflow as tf

    try:
        _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as err:
        raise ConfigError(f"runtime.strategy='multi_worker' must be the first TensorFlow "
                          f"work of its process ({err}): run it with `asap-keras` or in a "
                          f"fresh Python process. Received: strategy='multi_worker'") from None
    return _STRATEGY


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """Whether this process writes the run directory (always, outside a multi-worker run)."""
    if not is_multi_worker(strategy):
        return True
    return read_tf_config().is_chief


@contextlib.contextmanager
def writable_place(chief: bool, runs_dir, run_path=None):
    """`(runs_dir, run_path)` this process writes to: as given on the chief; on another
    worker a scratch directory (removed when the block ends), holding a copy of `run_path`
    when a run is resumed, so the worker restores the chief's checkpoint and writes its own
    copy of every file away from the run directory.

    Args:
        chief: whether this process is the chief (`is_chief`).
        runs_dir: where a new run's directory is made.
        run_path: the run directory being resumed, or None.
    """
    if chief:
        yield runs_dir, run_path
        return
    scratch = Path(tempfile.mkdtemp(prefix="asap-worker-"))
    try:
        if run_path is not None:
            copy = scratch / Path(run_path).name
            shutil.copytree(run_path, copy)
            run_path = copy
        yield str(scratch), run_path
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_UNHEALTHY = re.compile(r"(/job:[\w-]+/(?:replica:\d+/)?task:\d+)")


def lost_workers(err: BaseException) -> list[str]:
    """The tasks a collective-op error names as stopped (heartbeats lost)."""
    text = str(err)
    marker = text.find("unhealthy")
    names = _UNHEALTHY.findall(text[marker:] if marker >= 0 else "")
    return list(dict.fromkeys(n.replace("/replica:0", "") for n in names))


@contextlib.contextmanager
def worker_failures_named(strategy):
    """Turns TensorFlow's error for a lost worker into `WorkerLost`, naming the worker."""
    if not is_multi_worker(strategy):
        yield
        return
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
            tf.errors.CancelledError, tf.errors.InternalError, tf.errors.AbortedError) as err:
        names = lost_workers(err) or ["a worker (unnamed by TensorFlow)"]
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        raise WorkerLost(f"worker {', '.join(names)} stopped; the multi-worker run cannot go "
                         f"on without it: restart every worker with `--resume RUN_DIR` "
                         f"({type(err).__name__}: {first})") from err
