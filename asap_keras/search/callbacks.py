"""The search's callbacks: anneal T and theta, prune on schedule, follow prunes, checkpoint."""

from __future__ import annotations

import keras
import numpy as np

from asap_keras.search import checkpoint, schedules


class Anneal(keras.callbacks.Callback):
    """T, theta and the architecture switch of each epoch, as the search method schedules.

    ASAP (Eq. 9, Alg. 1): T = t0 * beta^e, theta = factor / N (N the edge's original
    candidate count), and architecture steps with their prunes once T < the grace
    temperature; DARTS and the Sec. 4.4 baselines: T = 1 and architecture steps throughout.
    The model rebuilds its train function when the switch flips.

    Args:
        method: the `SearchMethod`.
    """

    def __init__(self, method):
        super().__init__()
        self.method = method

    def temperature_of(self, epoch):
        """The temperature epoch `epoch` trains at (None where the step sets it)."""
        return self.method.epoch_schedule(epoch).temperature

    def on_train_begin(self, logs=None):
        self.model.sync_structure("start", force=True)

    def on_epoch_begin(self, epoch, logs=None):
        arch = self.model.network.arch
        plan = self.method.epoch_schedule(epoch)
        if plan.temperature is not None:
            arch.temperature.assign(plan.temperature)
        if plan.threshold is not None:
            arch.threshold.assign(plan.threshold)
        arch.arch_enabled.assign(1.0 if plan.arch_steps else 0.0)
        self.model.sync_structure("grace_end")


class ScheduledPrune(keras.callbacks.Callback):
    """Applies the pruning a method schedules at epoch ends (the Sec. 4.4 baselines).

    Args:
        method: the `SearchMethod`; its `epoch_end_masks` decides.
    """

    def __init__(self, method):
        super().__init__()
        self.method = method

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        masks = self.method.epoch_end_masks(network.arch.snapshot(), epoch,
                                            network.cell_types)
        if masks:
            step = int(self.model.weight_optimizer.iterations.numpy()) - 1  # the last step
            for cell_type, keep in masks.items():
                network.arch.apply_prune(cell_type, keep, step)


class FollowPrunes(keras.callbacks.Callback):
    """Reports the ops pruned, rebuilds the step lazily, stops once discrete.

    ASAP's step kills ops by setting mask Variables (they weigh 0 at once); their compute
    leaves the graph at the next rebuild: at the epoch's last batch (before validation),
    or sooner once the live op count has fallen by `rebuild_fraction` of the ops the step
    still computes. Ops pruned at an epoch's end are reported and dropped then. The search
    stops as soon as every edge keeps one op (Alg. 1).

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

    def _follow(self):
        """Reports new prunes; True (and the search stopped) if every edge keeps one op."""
        alive = self._alive()
        if any(not np.array_equal(alive[t], self._known[t]) for t in alive):
            self._report(alive)
        if all(schedules.is_discrete(a) for a in alive.values()):
            self.model.sync_structure("discrete")
            self.model.stop_training = True
            return True
        return False

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.arch_phase or self._follow():  # grace: no architecture step
            return
        network = self.model.network
        traced, live = network.traced_op_count(), network.live_op_count()
        if batch + 1 == self.params.get("steps"):
            self.model.sync_structure("epoch_end")
        elif traced - live >= self.rebuild_fraction * traced:
            self.model.sync_structure("prune_fraction")

    def on_epoch_end(self, epoch, logs=None):
        if not self._follow():
            self.model.sync_structure("epoch_end")

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
