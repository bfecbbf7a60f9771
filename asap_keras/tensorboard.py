"""TensorBoard the Keras way: the stock callback for losses and metrics, plus the search's own.

`RUN_DIR/tensorboard/` holds, for a search:
  train/, validation/   Keras' `TensorBoard` callback: `epoch_loss`, `epoch_accuracy`, ...
                        (training and validation of one metric share a chart) and the
                        learning rate;
  search/               T, theta, sparsity, live ops, entropy per cell type, supernet
                        multiply-adds, epoch seconds (and lambda, weight entropy where the
                        method has them) as scalars; per cell type the op weights of every
                        edge as a histogram and as an image of the edges x ops matrix.
and for a retraining run `train/`, `validation/` and `schedule/` (learning rate, drop-path).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

# Each matrix cell becomes a square of this many pixels, so 14 x 7 is readable.
PIXELS_PER_WEIGHT = 12


def keras_callback(log_dir: str | Path) -> keras.callbacks.TensorBoard:
    """Keras' own callback, per epoch, without graph or profile (both cost traces)."""
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), update_freq="epoch",
                                       write_graph=False, profile_batch=0)


def weight_image(weights, alive) -> np.ndarray:
    """An `(1, H, W, 1)` image of an `(edges, ops)` weight matrix, one square per weight.

    Alive weights are scaled by the largest magnitude of the matrix to 0.2..1 (brighter is
    stronger); pruned ops are black, so the matrix shows what is left as the search prunes.
    """
    w = np.abs(np.asarray(weights, dtype=np.float64))
    keep = np.asarray(alive) > 0.5
    top = float(w[keep].max()) if keep.any() else 0.0
    scaled = np.where(keep, 0.2 + 0.8 * (w / top if top > 0 else 1.0), 0.0)
    big = np.kron(scaled, np.ones((PIXELS_PER_WEIGHT, PIXELS_PER_WEIGHT)))
    return big[None, :, :, None].astype(np.float32)


def search_scalars(record: dict) -> dict:
    """The scalars of an `epoch` event record worth a chart (None values left out)."""
    scalars = {"temperature": record.get("temperature"), "threshold": record.get("threshold"),
               "sparsity": record.get("sparsity"), "live_ops": record.get("live_ops"),
               "epoch_seconds": record.get("epoch_seconds"),
               "supernet_madds": record.get("supernet_madds"), "lambda": record.get("lambda")}
    for key in ("entropy", "weight_entropy"):
        for cell_type, value in (record.get(key) or {}).items():
            scalars[f"{key}_{cell_type}"] = value
    return {k: float(v) for k, v in scalars.items() if v is not None}


class SearchSummaries(keras.callbacks.Callback):
    """Writes the search's scalars, op-weight histograms and images after each epoch.

    Reads the record the `EventRecorder` built for the epoch's event (so TensorBoard and the
    event log show the same numbers); place it after the recorder.

    Args:
        log_dir: the `search/` folder.
        recorder: the run's `EventRecorder` (its `last_record`).
    """

    def __init__(self, log_dir: str | Path, recorder):
        super().__init__()
        self.log_dir = str(log_dir)
        self.recorder = recorder
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        record = self.recorder.last_record
        if self._writer is None or record is None:
            return
        with self._writer.as_default(step=epoch):
            for name, value in search_scalars(record).items():
                tf.summary.scalar(name, value)
            for cell_type, weights in (record.get("phi") or {}).items():
                alive = np.asarray(record["alive"][cell_type]) > 0.5
                w = np.asarray(weights, dtype=np.float64)
                if alive.any():
                    tf.summary.histogram(f"weights_{cell_type}", w[alive])
                tf.summary.image(f"weights_{cell_type}", weight_image(w, alive),
                                 description=f"{cell_type} cell: {w.shape[0]} edges (rows) x "
                                             f"{w.shape[1]} ops (columns); black = pruned")
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ScheduleSummaries(keras.callbacks.Callback):
    """A retraining run's learning rate and drop-path rate per epoch (`schedule/`)."""

    def __init__(self, log_dir: str | Path):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        optimizer = self.model.optimizer
        rate = optimizer.learning_rate
        if callable(rate):  # a schedule: its value at the optimizer's current step
            rate = rate(optimizer.iterations)
        with self._writer.as_default(step=epoch):
            tf.summary.scalar("learning_rate", float(keras.ops.convert_to_numpy(rate)))
            drop = getattr(self.model, "drop_path_rate", None)
            if drop is not None:
                tf.summary.scalar("drop_path", float(keras.ops.convert_to_numpy(drop)))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
