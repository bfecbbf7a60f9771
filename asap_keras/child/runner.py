"""Retraining a genotype: data, the evaluation network, the recipe, logs and results."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from asap_keras import config as config_lib
from asap_keras import events as events_lib
from asap_keras import precision, tensorboard, workers
from asap_keras import run_dir as run_dir_lib
from asap_keras.child.augment import make_augmenter
from asap_keras.child.config import TrainConfig, TrainingConfig
from asap_keras.child.cost import network_cost
from asap_keras.child.lr_schedules import PowerCosineRestarts
from asap_keras.child.network import EvalNetwork, count_parameters
from asap_keras.data.arrays import check_arrays
from asap_keras.data.search_split import channel_stats, split_indices
from asap_keras.data.sources import ImageSet, fit, load_images
from asap_keras.data.streams import block_shuffle
from asap_keras.errors import CheckpointError, DataError, RunDirError, describe
from asap_keras.resume import open_training_run
from asap_keras.search.event_log import EventLog, ends_run
from asap_keras.search.runner import configure_runtime, jit_compile_of, make_strategy
from asap_keras.space.genotype import Genotype
from asap_keras.stopping import StopOnDivergence, StopWhenRequested

RESULTS_FILE = "results.json"


def load_train_test(data, seed: int, images: ImageSet | None = None,
                    test_images: ImageSet | None = None):
    """The training images and the held-out test images (each an `ImageSet` or a stream).

    `images` (and `test_images`), passed from Python with `data.source = "arrays"`, replace
    what the config names; without `test_images` a seeded `data.val_fraction` is held out.

    tensorflow-datasets names use `data.test_split` (default `test`); an image folder with
    `data.test_root` reads its test images from there; the embedded digits and other image
    folders hold out a seeded `data.val_fraction` of the examples. Folders and tfds splits
    are streamed from disk as `data.stream` and `data.memory_mb` say (data/streams.py).
    """
    streaming = {"stream": data.stream, "memory_mb": data.memory_mb}
    if images is not None:
        images = fit(images, data.image_size, data.limit, seed)
        if test_images is not None:
            return images, fit(test_images, data.image_size, 0, seed)
    elif data.test_root:
        train = load_images("folder", root=data.root, image_size=data.image_size,
                            limit=data.limit, seed=seed, **streaming)
        test = load_images("folder", root=data.test_root, image_size=data.image_size,
                           seed=seed, **streaming)
        if test.class_names != train.class_names:
            raise DataError(f"data.test_root has other classes than data.root: "
                            f"{list(test.class_names)[:10]} vs {list(train.class_names)[:10]}. "
                            f"Received: test_root={data.test_root!r}")
        return train, test
    if data.source == "tfds":
        train = load_images("tfds", data.name, data_dir=data.data_dir,
                            image_size=data.image_size, limit=data.limit, seed=seed,
                            split=data.split, download=data.download, **streaming)
        test = load_images("tfds", data.name, data_dir=data.data_dir,
                           image_size=data.image_size, seed=seed, split=data.test_split,
                           download=data.download, **streaming)
        return train, test
    if images is None:
        images = load_images(data.source, data.name, data.root, data.data_dir,
                             data.image_size, data.limit, seed, **streaming)
    if not data.val_fraction:
        raise DataError(f"retraining on {data.source!r} data needs a held-out test split. "
                        f"Received: data.val_fraction={data.val_fraction}")
    split = split_indices(images.count, data.val_fraction, seed)
    train_idx = np.sort(np.concatenate([split.weight, split.arch]))
    return images.take(train_idx), images.take(split.val)


class DropPathRamp(keras.callbacks.Callback):
    """Drop-path rate grows linearly from 0 to the model's maximum over training."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.model.drop_path_rate.assign(self.model.max_drop_path * epoch / self.epochs)


class TrainRecorder(keras.callbacks.Callback):
    """Writes a `train_epoch` event and the model (atomically) after every epoch."""

    def __init__(self, event_log: EventLog, run_path: Path):
        super().__init__()
        self.event_log, self.run_path = event_log, run_path
        self.seconds = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.seconds.append(seconds)
        optimizer = self.model.optimizer
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self.event_log.emit("train_epoch", epoch=epoch, metrics=metrics, epoch_seconds=seconds,
                            learning_rate=lr,
                            drop_path=float(self.model.drop_path_rate.numpy()))
        save_model(self.model, self.run_path / run_dir_lib.MODEL_FILE)


def save_model(model, path: Path) -> None:
    """Saves `model.keras` by writing a temporary file and renaming it."""
    tmp = path.with_name(path.name + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)


def _datasets(train, test, cfg: TrainConfig, start_epoch: int):
    """Training batches for epochs `start_epoch..epochs-1` and the test batches.

    Each epoch's order is a stateless shuffle seeded by (run seed, epoch), so a resumed run
    sees the same batches in its remaining epochs as an uninterrupted one (a tfds stream:
    shuffled within blocks of `data.shuffle_block`, from the same seed).
    """
    batch = cfg.data.batch_size
    count = train.count
    if count < batch:
        raise DataError(f"fewer training images ({count}) than one batch. "
                        f"Received: data.batch_size={batch}")
    used = count // batch * batch
    seed = tf.constant(cfg.run.seed, tf.int64)

    def epoch_examples(epoch):
        if not train.random_access:
            return block_shuffle(train.examples(), cfg.data.shuffle_block,
                                 tf.stack([seed, epoch])).take(used)
        order = tf.random.experimental.stateless_shuffle(tf.range(count),
                                                         seed=tf.stack([seed, epoch]))
        return train.examples(order[:used])

    augment = make_augmenter(cfg.train.augment, train.image_shape, cfg.run.seed)
    train_ds = (tf.data.Dataset.range(start_epoch, cfg.train.epochs).flat_map(epoch_examples)
                .batch(batch, drop_remainder=True)
                .map(lambda i, x, y: (tf.cast(x, tf.float32), y)))
    if augment is not None:
        train_ds = train_ds.map(lambda x, y: (augment(x), y))
    test_ds = (test.examples().batch(batch)
               .map(lambda i, x, y: (tf.cast(x, tf.float32), y)))
    return train_ds.prefetch(tf.data.AUTOTUNE), test_ds.prefetch(tf.data.AUTOTUNE)


def learning_rate_schedule(train: TrainingConfig, total_steps: int):
    """The `[train]` table's schedule over `total_steps` optimizer steps.

    Args:
        train: the `[train]` table (`lr`, `lr_schedule`, `lr_power`, `restarts`,
            `restart_decay`).
        total_steps: steps of the whole training run.

    Returns:
        A `PowerCosineRestarts` or a `keras.optimizers.schedules.CosineDecayRestarts`.
    """
    if train.lr_schedule == "cosine_restarts":
        return keras.optimizers.schedules.CosineDecayRestarts(
            train.lr, first_decay_steps=max(1, math.ceil(total_steps / train.restarts)),
            t_mul=1.0, m_mul=train.restart_decay, alpha=0.0)
    return PowerCosineRestarts(train.lr, max(1, total_steps), cycles=train.restarts,
                               amplitude_decay=train.restart_decay, power=train.lr_power)


def build_model(cfg: TrainConfig, genotype: Genotype, train, steps_per_epoch: int):
    """The evaluation network, compiled with the paper's optimizer and schedule.

    Built under the dtype policy `runtime.precision` names (the global policy is restored
    afterwards); under "mixed_float16" `compile` wraps the optimizer in a
    `LossScaleOptimizer`. Compiled with `runtime.jit_compile`.
    """
    m, t = cfg.model, cfg.train
    mean, std = channel_stats(train.stats_images())
    with precision.dtype_policy(cfg.runtime.precision):
        model = EvalNetwork(genotype, train.num_classes, train.image_shape, m.channels,
                            m.layers, m.auxiliary, m.drop_path, m.variant, mean.tolist(),
                            std.tolist())
    schedule = learning_rate_schedule(t, t.epochs * steps_per_epoch)
    optimizer = keras.optimizers.SGD(schedule, momentum=t.momentum, nesterov=t.nesterov)
    model.compile(optimizer, t.label_smoothing, m.auxiliary_weight, t.weight_decay,
                  t.grad_clip, jit_compile=jit_compile_of(cfg.runtime.jit_compile))
    model.optimizer.build(model.trainable_variables)
    return model


@dataclass(frozen=True)
class TrainOutcome:
    """A finished training run: directory, `results.json`'s dict, `History`, the model."""

    run_path: Path
    results: dict
    history: object
    model: object


def run_training(cfg: TrainConfig | None = None, genotype: Genotype | None = None,
                 genotype_source: str = "", verbose: int = 2,
                 resume: str | Path | None = None) -> tuple[Path, dict]:
    """`train_run`, returning `(run_path, results)` (what the command line needs)."""
    outcome = train_run(cfg, genotype, genotype_source, verbose, resume)
    return outcome.run_path, outcome.results


def train_run(cfg: TrainConfig | None = None, genotype: Genotype | None = None,
              genotype_source: str = "", verbose: int = 2, resume: str | Path | None = None,
              images: ImageSet | None = None, test_images: ImageSet | None = None,
              fingerprint: str | None = None) -> TrainOutcome:
    """Trains `genotype` per `cfg`; writes a run directory with events, model and results.

    Args:
        cfg, genotype, genotype_source: what to train (ignored when resuming).
        verbose: Keras progress output.
        resume: a training run directory to continue from its last finished epoch (its own
            resolved config, genotype, weights, optimizer state and epoch).

        images, test_images: images passed from Python (`data.source = "arrays"`).
        fingerprint: their SHA-256, recorded in `run.json` and checked on resume.

    Returns:
        A `TrainOutcome`.

    Raises:
        ConfigError, DataError, GenotypeError, RunDirError, CheckpointError: bad input.
    """
    run_path = None
    if resume is not None:
        run_path, cfg, genotype, genotype_source = open_training_run(resume)
    elif cfg is None or genotype is None:
        raise RunDirError("run_training needs a config and a genotype, or a run to resume")
    strategy = make_strategy(cfg.runtime.strategy)  # multi_worker: before other TF work
    with workers.writable_place(workers.is_chief(strategy), cfg.run.runs_dir,
                                run_path) as (runs_dir, run_path):
        return _train(cfg, genotype, genotype_source, verbose, strategy, runs_dir, run_path,
                      images, test_images, fingerprint)


def _train(cfg, genotype, genotype_source, verbose, strategy, runs_dir, run_path, images,
           test_images, fingerprint) -> TrainOutcome:
    """`train_run`'s body: a new run in `runs_dir`, or the run at `run_path` resumed."""
    resume = run_path
    configure_runtime(cfg.run.seed, cfg.runtime.deterministic)
    check_arrays(cfg.data.source, images, fingerprint,
                 run_path / run_dir_lib.RUN_FILE if resume is not None else None)
    train, test = load_train_test(cfg.data, cfg.run.seed, images, test_images)
    if train.image_shape != test.image_shape or train.num_classes != test.num_classes:
        raise DataError(f"train and test splits disagree: {train.image_shape}, "
                        f"{train.num_classes} classes vs {test.image_shape}, "
                        f"{test.num_classes} classes (data.image_size resizes both). "
                        f"Received: data.name={cfg.data.name!r}, "
                        f"data.test_root={cfg.data.test_root!r}")
    steps = train.count // cfg.data.batch_size
    if resume is None:
        run_path = run_dir_lib.create_run_dir(
            runs_dir, cfg.run.name, config_lib.dump_config(cfg),
            {"kind": "train", "seed": cfg.run.seed, "genotype": genotype.to_dict(),
             "genotype_source": genotype_source, "class_names": list(train.class_names),
             "image_shape": list(train.image_shape),
             **({"data_fingerprint": fingerprint} if fingerprint else {})})
        run_dir_lib.atomic_write_text(run_path / run_dir_lib.GENOTYPE_FILE,
                                      genotype.to_json() + "\n")
    with strategy.scope():
        model = build_model(cfg, genotype, train, steps)
    start_epoch = 0
    if resume is not None:
        start_epoch = _restore(model, run_path / run_dir_lib.MODEL_FILE, steps)
    train_ds, test_ds = _datasets(train, test, cfg, start_epoch)
    log = EventLog(run_path / run_dir_lib.EVENTS_FILE)
    recorder = TrainRecorder(log, run_path)
    board = run_path / run_dir_lib.TENSORBOARD_DIR
    earlier = list(_logged(run_path / run_dir_lib.EVENTS_FILE))  # read once, before this session
    recorder.seconds = _epoch_seconds(earlier, start_epoch)
    resumed_at = [e["start_epoch"] for e in earlier if e.kind == "run_start"
                  and e["start_epoch"] > 0] + ([start_epoch] if start_epoch else [])
    started = time.time()
    with (ends_run(log, lambda: len(recorder.seconds) - 1) as outcome,
          workers.worker_failures_named(strategy)):
        log.emit("run_start", run=run_path.name, config=config_lib.config_to_dict(cfg),
                 versions=run_dir_lib.versions(), seed=cfg.run.seed, start_epoch=start_epoch,
                 run_kind="train", steps_per_epoch=steps,
                 image_shape=list(train.image_shape), class_names=list(train.class_names))
        history = None
        if start_epoch < cfg.train.epochs:
            history = model.fit(train_ds, epochs=cfg.train.epochs, initial_epoch=start_epoch,
                      steps_per_epoch=steps, validation_data=test_ds, verbose=verbose,
                      shuffle=False, callbacks=[
                          StopOnDivergence(("loss",)), StopWhenRequested(),
                          DropPathRamp(cfg.train.epochs), recorder,
                          tensorboard.keras_callback(board),
                          tensorboard.ScheduleSummaries(board / "schedule")])
        _, accuracy = model.evaluate(test_ds, verbose=0)
        results = {
            "genotype": genotype.to_dict(), "genotype_source": genotype_source,
            "parameters_m": count_parameters(model) / 1e6,
            "multiply_adds_m": network_cost(
                genotype, model.num_classes, model.image_shape, model.channels,
                model.num_layers, variant=model.variant)["multiply_adds"] / 1e6,
            "test_accuracy": float(accuracy), "test_error": 1.0 - float(accuracy),
            "epochs": cfg.train.epochs, "epoch_seconds": recorder.seconds,
            "train_seconds": time.time() - started, "test_examples": int(test.count),
            "image_shape": list(train.image_shape), "num_classes": train.num_classes,
            "resumed_at_epochs": resumed_at,
        }
        run_dir_lib.atomic_write_text(run_path / RESULTS_FILE,
                                      json.dumps(results, indent=2) + "\n")
        outcome.finish("epochs")
        return TrainOutcome(run_path, results, history, model)


def _restore(model, model_file: Path, steps_per_epoch: int) -> int:
    """Loads weights and optimizer state saved after an epoch; returns the next epoch."""
    if not model_file.is_file():
        return 0  # stopped before its first epoch ended: start again from scratch
    try:
        model.load_weights(model_file)
    except Exception as err:  # a truncated zip or a mismatched file raise several types
        raise CheckpointError(f"cannot restore the trained model ({describe(err)}). "
                              f"Received: {str(model_file)!r}") from None
    iterations = int(model.optimizer.iterations.numpy())
    if iterations % steps_per_epoch:
        raise CheckpointError(f"the saved optimizer has run {iterations} steps, not a whole "
                              f"number of {steps_per_epoch}-step epochs. "
                              f"Received: {str(model_file)!r}")
    return iterations // steps_per_epoch


def _logged(events_file: Path):
    """The decodable events of a run's log (a damaged line is skipped: these are reports)."""
    if not events_file.is_file():
        return
    for line in events_file.read_text().splitlines():
        try:
            yield events_lib.decode(line)
        except events_lib.EventError:
            continue


def _epoch_seconds(earlier: list, before: int) -> list[float]:
    """Seconds of the epochs `0..before-1` as logged by the earlier attempts."""
    seconds = {e["epoch"]: e["epoch_seconds"] for e in earlier
               if e.kind == "train_epoch" and e["epoch"] < before}
    return [seconds[epoch] for epoch in sorted(seconds)]
