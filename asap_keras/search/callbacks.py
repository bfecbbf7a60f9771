"""The search's callbacks: anneal T and theta, follow the step's prunes, checkpoint."""

from __future__ import annotations

import keras
import numpy as np

from asap_keras.search import checkpoint, schedules


class Anneal(keras.callbacks.Callback):
    """T, theta and the grace switch of each epoch (ASAP Eq. 9 and Alg. 1).

    At the start of epoch e: T = t0 * beta^e, theta = threshold_factor / N (N the edge's
    original candidate count), and architecture steps (with their prunes) run once
    T < grace temperature. The model rebuilds its train function when the switch flips.

    Args:
        t0: initial temperature.
        beta: anneal factor per epoch.
        grace_temperature: tau; architecture steps run only below it.
        threshold_factor: theta = threshold_factor / N.
    """

    def __init__(self, t0, beta, grace_temperature, threshold_factor):
        super().__init__()
        self.t0, self.beta = t0, beta
        self.grace_temperature = grace_temperature
        self.threshold_factor = threshold_factor

    def temperature_of(self, epoch):
        """The temperature epoch `epoch` trains at."""
        return schedules.temperature(epoch, self.t0, self.beta)

    def on_train_begin(self, logs=None):
        self.model.sync_structure("start", force=True)

    def on_epoch_begin(self, epoch, logs=None):
        arch = self.model.network.arch
        temp = self.temperature_of(epoch)
        arch.temperature.assign(temp)
        arch.threshold.assign(schedules.threshold(arch.num_ops, self.threshold_factor))
        enabled = schedules.arch_steps_enabled(temp, self.grace_temperature)
        arch.arch_enabled.assign(1.0 if enabled else 0.0)
        self.model.sync_structure("grace_end")


class FollowPrunes(keras.callbacks.Callback):
    """Reports the ops the step pruned, rebuilds the step lazily, stops once discrete.

    The step kills ops by setting mask Variables (they weigh 0 at once); their compute
    leaves the graph at the next rebuild: at the epoch's last batch (before validation),
    or sooner once the live op count has fallen by `rebuild_fraction` of the ops the step
    still computes. The search stops as soon as every edge keeps one op (Alg. 1).

    Args:
        rebuild_fraction: in (0, 1]; 1 rebuilds only at epoch ends.
        event_log: receives one `prune` event per pruned op.
    """

    def __init__(self, rebuild_fraction=0.3, event_log=None):
        super().__init__()
        self.rebuild_fraction = rebuild_fraction
        self.event_log = event_log
        self._known = {}
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._known = self._alive()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _alive(self):
        network = self.model.network
        return {t: network.arch.masks[t].numpy() > 0.5 for t in network.cell_types}

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.arch_phase:  # grace: no architecture step, so no prune
            return
        alive = self._alive()
        if any(not np.array_equal(alive[t], self._known[t]) for t in alive):
            self._report(alive)
        network = self.model.network
        if all(schedules.is_discrete(a) for a in alive.values()):
            self.model.sync_structure("discrete")
            self.model.stop_training = True
            return
        traced, live = network.traced_op_count(), network.live_op_count()
        if batch + 1 == self.params.get("steps"):
            self.model.sync_structure("epoch_end")
        elif traced - live >= self.rebuild_fraction * traced:
            self.model.sync_structure("prune_fraction")

    def on_epoch_end(self, epoch, logs=None):
        self.model.sync_structure("epoch_end")  # no-op unless the step count was unknown

    def _report(self, alive):
        arch, names = self.model.network.arch, self.model.network.op_names
        theta = float(arch.threshold.numpy())
        for cell_type, now in alive.items():
            died = self._known[cell_type] & ~now
            if not died.any():
                continue
            steps = arch.pruned_at[cell_type].numpy()
            weights = arch.pruned_weight[cell_type].numpy()
            for e, k in zip(*np.nonzero(died)):
                if self.event_log:
                    self.event_log.emit("prune", epoch=self._epoch, step=int(steps[e, k]),
                                        cell=cell_type, edge=int(e), op=names[k],
                                        weight=float(weights[e, k]), threshold=theta)
        self._known = alive


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
