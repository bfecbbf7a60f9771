"""Stopping a run safely: at the first non-finite loss, or once a stop was requested."""

from __future__ import annotations

import math

import keras

from asap_keras import stop_request
from asap_keras.errors import AsapError


class DivergedError(AsapError):
    """A loss became NaN or infinite; the run stopped in the step where it happened."""


class StopOnDivergence(keras.callbacks.Callback):
    """Raises `DivergedError` at the end of the first batch whose loss is not finite.

    Keras' `TerminateOnNaN` only stops after the epoch, whose end then checkpoints the NaN
    weights and derives a cell from them; raising inside the batch skips every later callback
    of that batch and the epoch end, so the last good checkpoint stays the newest and no
    genotype is written. The run's log ends with `run_end` "failed" and this message.

    Args:
        keys: the logged losses to watch (a key absent from the logs is ignored).
    """

    def __init__(self, keys=("loss", "arch_loss")):
        super().__init__()
        self.keys = tuple(keys)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key in self.keys:
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(float(value)):
                steps = self.params.get("steps")
                of = f" of {steps}" if steps else ""
                raise DivergedError(
                    f"diverged: {key} became {float(value)} at epoch {self._epoch}, step "
                    f"{batch + 1}{of}; nothing from this epoch was saved (the newest "
                    f"checkpoint is the last good state). Received: {key}={float(value)}")


class StopWhenRequested(keras.callbacks.Callback):
    """Raises `KeyboardInterrupt` at the next batch end once a stop was requested.

    The SIGTERM handler raises at once, but a signal that lands while Python runs a
    destructor (TensorFlow frees tensors all the time) has its exception swallowed
    ("Exception ignored in ..."). The request it also records stops the run here instead,
    so a scheduler's SIGTERM is never lost.
    """

    def on_train_batch_end(self, batch, logs=None):
        if stop_request.requested():
            raise KeyboardInterrupt("stop requested")

    def on_test_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)
