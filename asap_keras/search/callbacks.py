"""The search's callbacks: anneal T and theta, prune on schedule, follow prunes, checkpoint."""

from __future__ import annotations

import keras
import numpy as np

from asap_keras.run_dir import atomic_write_text
from asap_keras.search import checkpoint, pareto, rebuild, resource


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
        self.model.sync_structure("grace_end", follow_prunes=False)


class ScheduledPrune(keras.callbacks.Callback):
    """Applies the pruning a method schedules at epoch ends (Sec. 4.4 baselines, GOLD, NAP),
    then lets the method update its per-epoch state (GOLD's lambda) from how many died.

    Args:
        method: the `SearchMethod`; its `epoch_end_masks` decides, `prune_keys` names the
            value recorded with each dead op, `end_epoch` sees the count.
    """

    def __init__(self, method):
        super().__init__()
        self.method = method

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        state = network.arch.snapshot()
        masks = self.method.epoch_end_masks(state, epoch, network.cell_types)
        pruned = 0
        if masks:
            step = int(self.model.weight_optimizer.iterations.numpy()) - 1  # the last step
            keys = self.method.prune_keys(state) or {}
            for cell_type, keep in masks.items():
                pruned += int(np.sum(state["alive"][cell_type] & ~(np.asarray(keep) > 0.5)))
                network.arch.apply_prune(cell_type, keep, step, keys.get(cell_type))
        self.method.end_epoch(network.arch, epoch, pruned)


class FollowPrunes(keras.callbacks.Callback):
    """Reports the ops pruned, rebuilds the step when it pays, stops on the method's rule.

    A prune sets mask Variables (the op weighs 0 at once); its compute leaves the graph at
    the next rebuild, which `rule` places:
    - "cost": the break-even rule (`rebuild.BreakEven`): once the op-steps the step has
      wasted on dead ops since the last rebuild reach `cost_ratio` times the live ops.
    - "epoch": at the epoch's last batch (before validation), or sooner once the live op
      count has fallen by `rebuild_fraction` of the ops the step still computes.
    Both follow from the masks alone: every run, and every worker, rebuilds at the same steps.
    The search stops as soon as the method's `stop_reason` holds: every edge keeps one op
    (Alg. 1), or GOLD's multiply-adds fell under `flops_min`.

    Args:
        rebuild_fraction: in (0, 1]; 1 rebuilds only at epoch ends ("epoch" rule).
        event_log: receives one `prune` event per pruned op.
        rule: "cost" or "epoch".
        cost_ratio: a rebuild's cost per live op in op-steps ("cost" rule).
    """

    def __init__(self, rebuild_fraction=0.3, event_log=None, rule="epoch", cost_ratio=30.0):
        super().__init__()
        if rule not in rebuild.RULES:
            raise ValueError(f"rule must be one of {rebuild.RULES}. Received: rule={rule!r}")
        self.rebuild_fraction = rebuild_fraction
        self.event_log = event_log
        self.rule = rule
        self.costs = rebuild.BreakEven(cost_ratio)
        self._known = {}
        self._epoch = 0
        self._seen = None  # the model's rebuild count at the last step

    def on_train_begin(self, logs=None):
        self._known = self._alive()
        # After `Anneal`'s start-up build: a resumed step holds the checkpoint's structure
        # and its waste goes on from the checkpoint's.
        self._seen = self.model.traced_structures
        self.costs.waste = self.model.rebuild_waste

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _rebuild(self, reason):
        if self.model.sync_structure(reason):
            self._seen = self.model.traced_structures
            self.costs.rebuilt()
            self.model.rebuild_waste = 0

    def _alive(self):
        network = self.model.network
        return {t: network.arch.masks[t].numpy() > 0.5 for t in network.cell_types}

    def _follow(self):
        """Reports new prunes; True (and the search stopped) once the method's stop rule
        holds (every edge keeps one op, for ASAP; the reason names the rebuild)."""
        alive = self._alive()
        if any(not np.array_equal(alive[t], self._known[t]) for t in alive):
            self._report(alive)
        reason = self.model.method.stop_reason({"alive": alive}, tuple(alive))
        if reason:
            self.model.sync_structure(reason)
            self.model.stop_training = True
            return True
        return False

    def _counts(self):
        network = self.model.network
        return network.traced_op_count(), network.live_op_count()

    def on_train_batch_end(self, batch, logs=None):
        if self.model.traced_structures != self._seen:  # another callback rebuilt (a flip)
            self._seen = self.model.traced_structures
            self.costs.rebuilt()
        traced, live = self._counts()  # `_follow` rebuilds only when it stops the search
        self.costs.step(traced, live)
        self.model.rebuild_waste = self.costs.waste
        if not self.model.arch_phase or self._follow():  # grace: no architecture step
            return
        if self.rule == "cost":
            if self.costs.due(traced, live):
                self._rebuild("prune_cost")
        elif batch + 1 == self.params.get("steps"):
            self._rebuild("epoch_end")
        elif traced - live >= self.rebuild_fraction * traced:
            self._rebuild("prune_fraction")

    def on_epoch_end(self, epoch, logs=None):
        if not self._follow() and self.rule == "epoch":
            self._rebuild("epoch_end")

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


class ParetoRecord(keras.callbacks.Callback):
    """GOLD-NAS' Pareto records: after each epoch, the cell that epoch validated.

    Runs before the epoch-end prune, so the genotype derived from the state is the
    architecture the epoch's validation measured; its cost is that of its evaluation
    network at the search network's own size (`resource.evaluation_cost`). Each epoch emits
    a `pareto` event (whether the record entered the front; `stable`: the alive set had not
    changed for `gold.t_stable` epochs, the unofficial code's record points) and rewrites
    `pareto.json` atomically with the non-dominated records, sorted by multiply-adds.

    Args:
        method: the `SearchMethod` (derivation, geometry, `search.gold.t_stable`).
        path: the run's `pareto.json`.
        event_log: receives the `pareto` events.
        front: the records of a resumed search (`pareto.replay`).
    """

    def __init__(self, method, path, event_log=None, front=()):
        super().__init__()
        self.method = method
        self.path = path
        self.event_log = event_log
        self.front = tuple(front)

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        state = network.arch.snapshot()
        genotype = self.method.derive(state, network.op_names, network.nodes).to_dict()
        madds, params = resource.evaluation_cost(genotype, self.method.geometry)
        accuracy = (logs or {}).get("val_accuracy")
        accuracy = None if accuracy is None or not np.isfinite(accuracy) else float(accuracy)
        record = pareto.Record(epoch, genotype, madds, params, accuracy)
        self.front, entered = pareto.insert(self.front, record)
        stable = self._stable_epochs(state, epoch)
        if self.event_log:
            self.event_log.emit("pareto", **record.to_dict(), entered=entered,
                                front_size=len(self.front), stable_epochs=stable,
                                stable=stable >= self.method.search.gold.t_stable)
        atomic_write_text(self.path, pareto.to_json(self.front))

    def _stable_epochs(self, state, epoch):
        """Epochs trained with the alive set unchanged, up to this one (from `pruned_at`)."""
        last = max(float(np.max(steps, initial=-1)) for steps in state["pruned_at"].values())
        steps = self.params.get("steps") or 1
        return epoch + 1 if last < 0 else epoch - int(last) // steps
