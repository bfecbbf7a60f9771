"""The search's record: step, trace, epoch and genotype events."""

from __future__ import annotations

import time

import keras
import numpy as np

from asap_keras.search import schedules
from asap_keras.search.rebuild import VALIDATION_TRACE
from asap_keras.space import relaxation


def _metrics(logs):
    return {k: float(v) for k, v in (logs or {}).items()
            if isinstance(v, (int, float, np.floating, np.integer)) or hasattr(v, "__float__")}


def epoch_record(network, state, next_temperature, metrics, seconds, step_seconds=None,
                 method=None) -> dict:
    """The fields of an `epoch` event, all read from one architecture state.

    `phi` holds the op weights under the state's relaxation (Phi over the alive ops at the
    epoch's T for softmax; the gates for sigmoid; alpha for identity), after the epoch's
    prunes. `entropy` is the mean normalised entropy of each edge's Phi where Phi is a
    distribution (softmax), else empty; `weight_entropy` is that of each edge's |weights|
    divided by their sum (edges without an alive op left out), for every relaxation.
    `live_ops`, `total_ops` and `sparsity` count the ops of every cell (so a cell type
    weighs as many times as it occurs in the stack), and `sparsity == 1 - live_ops /
    total_ops`; `supernet_madds` counts the alive ops' multiply-adds (with a bound method).
    """
    cell_types = network.cell_types
    phi = relaxation.state_weights(state)
    live, total = network.live_op_count(), network.total_op_count()
    kind = state.get("relaxation", "softmax")
    candidates = len(network.op_names)
    entropy = {t: float(np.mean(relaxation.normalized_entropy(phi[t]))) for t in cell_types}
    weight_entropy = {}
    for t in cell_types:
        per_edge = relaxation.normalized_weight_entropy(phi[t], candidates)
        finite = per_edge[np.isfinite(per_edge)]
        weight_entropy[t] = float(np.mean(finite)) if finite.size else None
    record = {
        "temperature": state["temperature"], "next_temperature": next_temperature,
        "threshold": state["threshold"], "grace": not state["arch_enabled"],
        "sparsity": 1.0 - live / total,
        "entropy": entropy if kind == "softmax" else {},
        "weight_entropy": weight_entropy, "relaxation": kind,
        "ops": list(network.op_names),
        "phi": {t: phi[t].round(6).tolist() for t in cell_types},
        "alive": {t: state["alive"][t].astype(int).tolist() for t in cell_types},
        "metrics": metrics, "epoch_seconds": seconds, "step_seconds": step_seconds,
        "live_ops": live, "total_ops": total,
        "discrete": all(schedules.is_discrete(state["alive"][t]) for t in cell_types),
    }
    if method is not None:
        madds = method.supernet_madds(state)
        if madds is not None:  # a method bound to the supernet's geometry
            record["supernet_madds"] = madds
        record.update(method.epoch_fields(state))
    return record


class EventRecorder(keras.callbacks.Callback):
    """Writes step, trace, epoch and genotype events.

    `last_record` keeps the latest epoch event's fields, for callbacks that show the same
    numbers elsewhere (`tensorboard.SearchSummaries`).

    Args:
        event_log: the run's `EventLog`.
        method: the `SearchMethod` (the next epoch's temperature, the derivation rule).
        log_every_steps: a `step` event every this many batches.
    """

    def __init__(self, event_log, method, log_every_steps=10):
        super().__init__()
        self.event_log = event_log
        self.method = method
        self.log_every_steps = log_every_steps
        self.last_epoch = None
        self.last_val_accuracy = None
        self.last_record = None
        self._epoch = 0
        self._epoch_start = 0.0
        self._batch_start = 0.0
        self._reported = -1
        self._trace_reason = ""
        self._trace_ops = 0
        self._step_times = []
        self._tests_reported = 0
        self._test_traced = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._step_times = []

    def on_train_batch_begin(self, batch, logs=None):
        # The first batch after a rebuild runs (and so traces) the new step function. Its op
        # count is read now: another callback may rebuild again at this batch's end.
        if self.model.traced_structures != self._reported:
            self._reported = self.model.traced_structures
            self._trace_reason = self.model.take_rebuild_reasons()
            self._trace_ops = self.model.network.traced_op_count()
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        seconds = time.perf_counter() - self._batch_start
        if self._trace_reason:
            self.event_log.emit("trace", epoch=self._epoch, seconds=seconds,
                                live_ops=self._trace_ops, reason=self._trace_reason)
            self._trace_reason = ""
        else:
            self._step_times.append(seconds)
        if (batch + 1) % self.log_every_steps == 0:
            self.event_log.emit("step", epoch=self._epoch, step=batch + 1,
                                metrics=_metrics(logs))

    def attribute_to(self, epoch):
        """Events written from now on belong to `epoch` (after `fit`: the final prune's
        validation, whose first batch traces the derived cell's test function)."""
        self._epoch = epoch

    def on_test_batch_begin(self, batch, logs=None):
        # Validation's first batch after the test function was remade traces it (once per
        # structure it computes): a `trace` event of reason "validation", so a run's trace
        # seconds hold its test functions' traces as well as its train functions'.
        self._test_traced = self.model.test_functions != self._tests_reported
        self._tests_reported = self.model.test_functions
        self._batch_start = time.perf_counter()

    def on_test_batch_end(self, batch, logs=None):
        if self._test_traced:
            self._test_traced = False
            self.event_log.emit("trace", epoch=self._epoch,
                                seconds=time.perf_counter() - self._batch_start,
                                live_ops=self.model.network.traced_op_count(),
                                reason=VALIDATION_TRACE)

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        state = network.arch.snapshot()
        metrics = _metrics(logs)
        if not state["arch_enabled"]:  # no architecture step ran: its trackers hold no value
            metrics = {k: v for k, v in metrics.items() if not k.startswith("arch_")}
        seconds = time.perf_counter() - self._epoch_start
        steps = self._step_times
        record = epoch_record(network, state,
                              self.method.epoch_schedule(epoch + 1).temperature, metrics,
                              seconds, sum(steps) / len(steps) if steps else None,
                              self.method)
        self.event_log.emit("epoch", epoch=epoch, **record)
        genotype = self.method.derive(state, network.op_names, network.nodes)
        self.event_log.emit("genotype", epoch=epoch, genotype=genotype.to_dict())
        self.last_epoch = epoch
        self.last_val_accuracy = metrics.get("val_accuracy")
        self.last_record = record
