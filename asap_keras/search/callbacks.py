"""Per-epoch callbacks of the search: anneal and prune, checkpoint, and the event record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from asap_keras.search import checkpoint, schedules
from asap_keras.space import genotype as genotype_lib
from asap_keras.space import relaxation
from asap_keras.space.arch_params import CELL_TYPES


@dataclass
class EpochOutcome:
    """What the schedule decided at the end of one epoch (values, not objects)."""

    epoch: int
    temperature: float
    next_temperature: float
    threshold: float
    grace: bool
    phi: dict
    alive: dict
    pruned: list = field(default_factory=list)
    discrete: bool = False
    genotype: genotype_lib.Genotype | None = None


class AnnealAndPrune(keras.callbacks.Callback):
    """ASAP's schedule (Alg. 1): prune ops with Phi < theta, anneal T, stop when discrete.

    At the end of epoch e, Phi is computed at the temperature used during e; ops below
    theta = factor / N die (mask Variable), T becomes t0 * beta^(e + 1), architecture steps
    switch on once T < grace temperature, and the model rebuilds its step functions if the
    structure changed.

    Args:
        t0: initial temperature.
        beta: anneal factor per epoch.
        grace_temperature: architecture steps run only below it.
        threshold_factor: theta = threshold_factor / N.
        event_log: receives one `prune` event per pruned op.
    """

    def __init__(self, t0, beta, grace_temperature, threshold_factor, event_log=None):
        super().__init__()
        self.t0, self.beta = t0, beta
        self.grace_temperature = grace_temperature
        self.threshold_factor = threshold_factor
        self.event_log = event_log
        self.outcome = None

    def set_epoch_state(self, epoch):
        """Assigns T and the arch switch for `epoch` and syncs the model's structure."""
        arch = self.model.network.arch
        temp = schedules.temperature(epoch, self.t0, self.beta)
        arch.temperature.assign(temp)
        enabled = schedules.arch_steps_enabled(temp, self.grace_temperature)
        arch.arch_enabled.assign(1.0 if enabled else 0.0)
        self.model.sync_structure()
        return temp

    def on_train_begin(self, logs=None):
        self.model.sync_structure(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self.set_epoch_state(epoch)

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        arch = network.arch
        state = arch.snapshot()
        theta = schedules.threshold(arch.num_ops, self.threshold_factor)
        phi = relaxation.state_weights(state)
        alive, pruned = dict(state["alive"]), []
        for cell_type in CELL_TYPES:
            if cell_type in network.cell_types:
                kept = schedules.prune(phi[cell_type], alive[cell_type], theta)
                for e, k in zip(*np.nonzero(alive[cell_type] & ~kept)):
                    pruned.append({"cell": cell_type, "edge": int(e),
                                   "op": network.op_names[k],
                                   "weight": float(phi[cell_type][e, k])})
                alive[cell_type] = kept
                arch.masks[cell_type].assign(kept.astype(np.float32))
        for item in pruned:
            if self.event_log:
                self.event_log.emit("prune", epoch=epoch, threshold=theta, **item)
        next_temp = self.set_epoch_state(epoch + 1)
        discrete = all(schedules.is_discrete(alive[t]) for t in network.cell_types)
        geno = genotype_lib.derive({"phi": phi, "alpha": state["alpha"], "alive": alive},
                                   network.op_names, network.nodes)
        self.outcome = EpochOutcome(epoch, state["temperature"], next_temp, theta,
                                    not state["arch_enabled"], phi, alive, pruned, discrete,
                                    geno)
        if discrete:
            self.model.stop_training = True


class SearchCheckpoint(keras.callbacks.Callback):
    """Saves weights, alphas, masks, T, both optimizers and the epoch after every epoch.

    Args:
        directory: the run's checkpoint folder.
        signature: what the model is built from (checked on resume).
        event_log: receives a `checkpoint` event per save.
        keep: checkpoints kept.
    """

    def __init__(self, directory, signature, event_log=None, keep=3):
        super().__init__()
        self.directory = directory
        self.signature = signature
        self.event_log = event_log
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        path = checkpoint.save(self.model, self.directory, epoch + 1, self.signature,
                               self.keep)
        if self.event_log:
            self.event_log.emit("checkpoint", epoch=epoch, path=str(path.name))


def _metrics(logs):
    return {k: float(v) for k, v in (logs or {}).items()
            if isinstance(v, (int, float, np.floating, np.integer)) or hasattr(v, "__float__")}


class EventRecorder(keras.callbacks.Callback):
    """Writes step, trace and epoch events and TensorBoard scalars.

    Args:
        event_log: the run's `EventLog`.
        schedule: the `AnnealAndPrune` callback whose outcome each epoch event reports.
        log_every_steps: a `step` event every this many batches.
        tensorboard_dir: where scalars go ("" for none).
    """

    def __init__(self, event_log, schedule, log_every_steps=10, tensorboard_dir=""):
        super().__init__()
        self.event_log = event_log
        self.schedule = schedule
        self.log_every_steps = log_every_steps
        self.tensorboard_dir = tensorboard_dir
        self._writer = None
        self._epoch = 0
        self._epoch_start = 0.0
        self._batch_start = 0.0
        self._traced = -1

    def on_train_begin(self, logs=None):
        if self.tensorboard_dir:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.tensorboard_dir)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._traced != self.model.traced_structures:
            self._traced = self.model.traced_structures
            self.event_log.emit("trace", epoch=self._epoch,
                                seconds=time.perf_counter() - self._batch_start,
                                live_ops=self.model.network.live_op_count())
        if (batch + 1) % self.log_every_steps == 0:
            self.event_log.emit("step", epoch=self._epoch, step=batch + 1,
                                metrics=_metrics(logs))

    def on_epoch_end(self, epoch, logs=None):
        out = self.schedule.outcome
        metrics = _metrics(logs)
        if out.grace:  # no architecture step ran: its trackers hold no value
            metrics = {k: v for k, v in metrics.items() if not k.startswith("arch_")}
        cell_types = self.model.network.cell_types
        entropy = {t: float(np.mean(relaxation.normalized_entropy(out.phi[t])))
                   for t in cell_types}
        alive_all = np.concatenate([out.alive[t] for t in cell_types])
        seconds = time.perf_counter() - self._epoch_start
        record = {
            "temperature": out.temperature, "next_temperature": out.next_temperature,
            "threshold": out.threshold, "grace": out.grace,
            "sparsity": relaxation.sparsity(alive_all), "entropy": entropy,
            "ops": list(self.model.network.op_names),
            "phi": {t: out.phi[t].round(6).tolist() for t in cell_types},
            "alive": {t: out.alive[t].astype(int).tolist() for t in cell_types},
            "metrics": metrics, "epoch_seconds": seconds,
            "live_ops": self.model.network.live_op_count(),
            "total_ops": sum(len(e.op_names) for c in self.model.network.cells
                             for e in c.edges),
            "discrete": out.discrete,
        }
        self.event_log.emit("epoch", epoch=epoch, **record)
        self.event_log.emit("genotype", epoch=epoch, genotype=out.genotype.to_dict())
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default(step=epoch):
                scalars = {**metrics, "temperature": out.temperature,
                           "sparsity": record["sparsity"], "live_ops": record["live_ops"],
                           "epoch_seconds": seconds,
                           **{f"entropy_{t}": v for t, v in entropy.items()}}
                for name, value in scalars.items():
                    tf.summary.scalar(name, value)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
