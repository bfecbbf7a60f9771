"""Runs a search from a config into a run directory, or resumes one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asap_keras import config as config_lib
from asap_keras import run_dir as run_dir_lib
from asap_keras import workers
from asap_keras.errors import RunDirError
from asap_keras.resume import open_search_run
from asap_keras.search import checkpoint
from asap_keras.search.event_log import EventLog, ends_run
from asap_keras.space.primitives import op_set

PARETO_FILE = "pareto.json"  # GOLD-NAS' Pareto records (`search.pareto.to_json`)


def configure_runtime(seed: int, deterministic: bool) -> None:
    """Seeds Python, NumPy and TF; optionally makes TF ops deterministic; picks Grappler.

    Grappler's graph rewrites are switched off when no GPU is visible: on CPU they cost
    ~40 s per trace of the full supernet and left the step time unchanged (benchmarks/).
    """
    import keras
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # a process-wide switch: an earlier run in this process may have set it
        tf_config.disable_op_determinism()
    if not tf.config.list_physical_devices("GPU"):
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def jit_compile_of(setting: str | bool) -> str | bool:
    """`compile(jit_compile=...)` for `runtime.jit_compile`.

    "auto" is False when no GPU is visible (XLA made the supernet's depthwise convolutions
    10-40x slower on CPU) and Keras' own "auto" on a GPU; true and false pass through.
    """
    import tensorflow as tf

    if setting == "auto" and not tf.config.list_physical_devices("GPU"):
        return False
    return setting


def make_strategy(name: str):
    """The tf.distribute strategy for `runtime.strategy`: "default", "mirrored" (this
    machine's GPUs, or its CPU) or "multi_worker" (the cluster of `TF_CONFIG`; see
    asap_keras/workers.py), which must be made before any other TensorFlow work."""
    if name == workers.MULTI_WORKER:
        return workers.multi_worker_strategy()
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def topology_of(cfg: config_lib.Config) -> str:
    """`space.topology` ("darts" where the space table predates it)."""
    return getattr(cfg.space, "topology", "darts")


def model_signature(cfg: config_lib.Config, image_shape, num_classes) -> dict:
    """What the supernet is built from; a checkpoint only restores into the same.

    Besides the shapes: the method, its relaxation (how alpha becomes weights) and the
    topology of the cell it derives, so a checkpoint says how to read its alphas.
    """
    from asap_keras.search.methods import METHODS

    return {"ops": list(op_set(cfg.space.ops)), "cells": cfg.space.cells,
            "channels": cfg.space.channels, "nodes": cfg.space.nodes,
            "stem_multiplier": cfg.space.stem_multiplier, "image_shape": list(image_shape),
            "num_classes": num_classes, "method": cfg.search.method,
            "relaxation": METHODS[cfg.search.method].relaxation,
            "topology": topology_of(cfg)}


def make_search_method(cfg: config_lib.Config):
    """The configured `SearchMethod` (not yet bound to a supernet)."""
    from asap_keras.search.methods import make_method

    return make_method(cfg.search, len(op_set(cfg.space.ops)), topology_of(cfg))


def arch_optimizer(table):
    """The alpha optimizer of a resolved `[search.arch_optimizer]`: Adam or SGD."""
    import keras

    if table.kind == "sgd":
        return keras.optimizers.SGD(table.lr, momentum=table.momentum, name="arch_sgd")
    return keras.optimizers.Adam(table.lr, beta_1=table.beta_1, beta_2=table.beta_2,
                                 name="arch_adam")


def build_model(cfg: config_lib.Config, image_shape, num_classes, steps_per_epoch,
                method=None):
    """Builds the supernet and the SearchModel compiled with both optimizers (built) and the
    configured search method, bound to the supernet's geometry.

    The method picks the relaxation and the alphas' starting value; `method` may be given
    (already made from `cfg`), else it is made here. The model is built under the dtype
    policy `runtime.precision` names (the global policy is restored afterwards) and compiled
    with `runtime.jit_compile`.
    """
    from asap_keras import precision

    with precision.dtype_policy(cfg.runtime.precision):
        return _build_model(cfg, image_shape, num_classes, steps_per_epoch, method)


def _build_model(cfg, image_shape, num_classes, steps_per_epoch, method):
    import keras

    from asap_keras.search.model import SearchModel
    from asap_keras.search.optimizers import FusedMomentumSGD
    from asap_keras.search.resource import Geometry
    from asap_keras.space.network import SearchNetwork

    space, search = cfg.space, cfg.search
    method = method or make_search_method(cfg)
    network = SearchNetwork(num_classes, image_shape[-1], op_set(space.ops), space.channels,
                            space.cells, space.nodes, space.stem_multiplier,
                            temperature=search.anneal.t0, alpha_scale=search.alpha_scale,
                            relaxation=method.relaxation, alpha_mean=method.initial_alpha(),
                            name="supernet")
    method.bind(Geometry.of(network, image_shape))
    model = SearchModel(network, name="search_model")
    w, a = search.weight_optimizer, search.arch_optimizer
    lr = keras.optimizers.schedules.CosineDecay(
        w.lr, decay_steps=max(1, search.epochs * steps_per_epoch), alpha=w.lr_min / w.lr)
    model.compile(
        weight_optimizer=FusedMomentumSGD(lr, momentum=w.momentum, name="weight_sgd"),
        arch_optimizer=arch_optimizer(a), weight_decay=w.weight_decay,
        arch_weight_decay=a.weight_decay, clipnorm=w.clipnorm, method=method,
        jit_compile=jit_compile_of(cfg.runtime.jit_compile))
    model.build_optimizers()
    return model


def _resume_point(run_path: Path, signature: dict):
    ckpts = checkpoint.list_checkpoints(run_path / run_dir_lib.CHECKPOINT_DIR)
    if not ckpts:
        return None
    path = ckpts[-1][1]
    checkpoint.read_meta(path)  # fail early, naming the file, if it is corrupt
    return path


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search: its run directory, genotype, Keras `History` (None when a resume
    had nothing left to train) and final architecture state (`ArchParams.snapshot`)."""

    run_path: Path
    genotype: object
    history: object
    state: dict


def run_search(cfg: config_lib.Config | None = None, resume: str | Path | None = None,
               verbose: int = 0, extra_callbacks=()):
    """`search_run`, returning `(run_path, genotype)` (what the command line needs)."""
    outcome = search_run(cfg, resume, verbose, extra_callbacks)
    return outcome.run_path, outcome.genotype


def search_run(cfg: config_lib.Config | None = None, resume: str | Path | None = None,
               verbose: int = 0, extra_callbacks=(), images=None,
               fingerprint: str | None = None) -> SearchOutcome:
    """Runs (or resumes) an ASAP search and writes `genotype.json`.

    Args:
        cfg: the configuration (ignored when resuming: the run's resolved config is used).
        resume: a run directory to continue from its newest checkpoint.
        verbose: Keras progress output (0 silent, 1 bar, 2 one line per epoch).
        extra_callbacks: more Keras callbacks, run after the search's own.

        images: an `ImageSet` passed from Python (with `data.source = "arrays"`).
        fingerprint: its SHA-256 (`api.fingerprint`), recorded in `run.json` and checked
            on resume.

    Returns:
        A `SearchOutcome`.

    Raises:
        ConfigError, DataError, RunDirError, CheckpointError: bad input.
    """
    run_path = None
    if resume is not None:
        run_path, cfg = open_search_run(resume)
    elif cfg is None:
        raise RunDirError("run_search needs a config or a run directory to resume")
    strategy = make_strategy(cfg.runtime.strategy)  # multi_worker: before other TF work
    with workers.writable_place(workers.is_chief(strategy), cfg.run.runs_dir,
                                run_path) as (runs_dir, run_path):
        return _search(cfg, strategy, runs_dir, run_path, verbose, extra_callbacks, images,
                       fingerprint)


def _search(cfg, strategy, runs_dir, run_path, verbose, extra_callbacks, images,
            fingerprint) -> SearchOutcome:
    """`search_run`'s body: a new run in `runs_dir`, or the run at `run_path` resumed."""
    from asap_keras import tensorboard
    from asap_keras.data.arrays import check_arrays
    from asap_keras.data.search_split import SearchData
    from asap_keras.data.sources import fit, load_images
    from asap_keras.search.callbacks import (
        Anneal,
        FollowPrunes,
        ParetoRecord,
        ScheduledPrune,
        SearchCheckpoint,
    )
    from asap_keras.search.final_prune import evaluate_derived_cell
    from asap_keras.search.recorder import EventRecorder
    from asap_keras.stopping import StopOnDivergence, StopWhenRequested

    resume = run_path
    configure_runtime(cfg.run.seed, cfg.runtime.deterministic)
    d = cfg.data
    check_arrays(d.source, images, fingerprint,
                 run_path / run_dir_lib.RUN_FILE if resume is not None else None)
    if images is None:
        images = load_images(d.source, d.name, d.root, d.data_dir, d.image_size, d.limit,
                             cfg.run.seed, d.split, d.download, d.stream, d.memory_mb)
    else:
        images = fit(images, d.image_size, d.limit, cfg.run.seed)
    method = make_search_method(cfg)
    data = SearchData(images, d.batch_size, d.val_fraction, cfg.run.seed, d.augment,
                      one_level=method.levels == "one", shuffle_block=d.shuffle_block)
    signature = model_signature(cfg, data.image_shape, data.num_classes)
    if resume is None:
        run_path = run_dir_lib.create_run_dir(
            runs_dir, cfg.run.name, config_lib.dump_config(cfg),
            {"seed": cfg.run.seed, "signature": signature, "class_names": list(
                images.class_names), "kind": "search",
             **({"data_fingerprint": fingerprint} if fingerprint else {})})
        resume_from = None
    else:
        resume_from = _resume_point(run_path, signature)
    with strategy.scope():
        model = build_model(cfg, data.image_shape, data.num_classes, data.steps_per_epoch,
                            method)
    start_epoch = 0
    if resume_from is not None:
        start_epoch = checkpoint.restore(model, resume_from, signature)
    front = _replayed_front(run_path, start_epoch) if resume is not None else ()
    log = EventLog(run_path / run_dir_lib.EVENTS_FILE)
    log.emit("run_start", run=run_path.name, config=config_lib.config_to_dict(cfg),
             versions=run_dir_lib.versions(), seed=cfg.run.seed, start_epoch=start_epoch,
             strategy=cfg.runtime.strategy, replicas=strategy.num_replicas_in_sync,
             steps_per_epoch=data.steps_per_epoch, image_shape=list(data.image_shape),
             class_names=list(images.class_names))
    recorder = EventRecorder(log, method, cfg.search.log_every_steps)
    board = run_path / run_dir_lib.TENSORBOARD_DIR
    # Before the epoch-end prune: a record pairs the cell the epoch validated with its accuracy.
    records = ([ParetoRecord(method, run_path / PARETO_FILE, log, front)]
               if method.records_pareto else [])
    callbacks = [
        StopOnDivergence(),  # first: a NaN step must reach no other callback
        StopWhenRequested(),
        Anneal(method),
        *records,
        ScheduledPrune(method),
        FollowPrunes(cfg.search.prune.rebuild_fraction, log, cfg.search.prune.rebuild,
                     cfg.search.prune.rebuild_cost_ratio),
        SearchCheckpoint(run_path / run_dir_lib.CHECKPOINT_DIR, signature, log),
        recorder,
        tensorboard.keras_callback(board),
        tensorboard.SearchSummaries(board / "search", recorder),
        *extra_callbacks,
    ]
    def last_epoch():  # the last finished epoch, for run_end
        return start_epoch - 1 if recorder.last_epoch is None else recorder.last_epoch

    with ends_run(log, last_epoch) as outcome, workers.worker_failures_named(strategy):
        history = None
        if start_epoch < cfg.search.epochs and not _stop_reason(model):
            history = model.fit(data.train_dataset(start_epoch, cfg.search.epochs),
                      steps_per_epoch=data.steps_per_epoch, epochs=cfg.search.epochs,
                      initial_epoch=start_epoch, validation_data=data.val_dataset(),
                      callbacks=callbacks, verbose=verbose, shuffle=False)
        genotype = final_genotype(model)
        run_dir_lib.atomic_write_text(run_path / run_dir_lib.GENOTYPE_FILE,
                                      genotype.to_json() + "\n")
        recorder.attribute_to(last_epoch())
        final = evaluate_derived_cell(model, genotype, data.val_dataset(), [recorder])
        log.emit("final_prune", epoch=last_epoch(), genotype=genotype.to_dict(),
                 val_accuracy_before=recorder.last_val_accuracy, **final)
        outcome.finish(_stop_reason(model) or "epoch_cap")
        return SearchOutcome(run_path, genotype, history, model.network.arch.snapshot())


def _stop_reason(model) -> str | None:
    """Why the method's search is over ("discrete", "flops_min"), or None."""
    network = model.network
    return model.method.stop_reason(network.arch.snapshot(), network.cell_types)


def _replayed_front(run_path: Path, start_epoch: int):
    """The Pareto front of the epochs before `start_epoch`, replayed from the event log."""
    from asap_keras.analysis.runs import read_events
    from asap_keras.search import pareto

    path = run_path / run_dir_lib.EVENTS_FILE
    # A torn last line of a killed run is skipped.
    decoded = read_events(path)[0] if path.is_file() else []
    return pareto.replay(decoded, start_epoch)


def final_genotype(model):
    """The genotype of the model's current architecture state, by its method's rule."""
    network = model.network
    return model.method.derive(network.arch.snapshot(), network.op_names, network.nodes)
