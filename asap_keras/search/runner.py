"""Runs a search from a config into a run directory, or resumes one."""

from __future__ import annotations

from pathlib import Path

from asap_keras import config as config_lib
from asap_keras import run_dir as run_dir_lib
from asap_keras.errors import RunDirError
from asap_keras.resume import open_search_run
from asap_keras.search import checkpoint
from asap_keras.search.event_log import EventLog, ends_run
from asap_keras.space.primitives import op_set


def configure_runtime(seed: int, deterministic: bool) -> None:
    """Seeds Python, NumPy and TF; optionally makes TF ops deterministic; picks Grappler.

    Grappler's graph rewrites are switched off when no GPU is visible: on CPU they cost
    ~40 s per trace of the full supernet and left the step time unchanged (benchmarks/).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    if not tf.config.list_physical_devices("GPU"):
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def make_strategy(name: str):
    """The tf.distribute strategy for `runtime.strategy` ("default" or "mirrored")."""
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def model_signature(cfg: config_lib.Config, image_shape, num_classes) -> dict:
    """What the supernet is built from; a checkpoint only restores into the same."""
    return {"ops": list(op_set(cfg.space.ops)), "cells": cfg.space.cells,
            "channels": cfg.space.channels, "nodes": cfg.space.nodes,
            "stem_multiplier": cfg.space.stem_multiplier, "image_shape": list(image_shape),
            "num_classes": num_classes}


def build_model(cfg: config_lib.Config, image_shape, num_classes, steps_per_epoch):
    """Builds the supernet and the SearchModel compiled with both optimizers (built) and the
    configured search method."""
    import keras

    from asap_keras.search.methods import make_method
    from asap_keras.search.model import SearchModel
    from asap_keras.search.optimizers import FusedMomentumSGD
    from asap_keras.space.network import SearchNetwork

    space, search = cfg.space, cfg.search
    network = SearchNetwork(num_classes, image_shape[-1], op_set(space.ops), space.channels,
                            space.cells, space.nodes, space.stem_multiplier,
                            temperature=search.anneal.t0, alpha_scale=search.alpha_scale,
                            name="supernet")
    model = SearchModel(network, name="search_model")
    w, a = search.weight_optimizer, search.arch_optimizer
    lr = keras.optimizers.schedules.CosineDecay(
        w.lr, decay_steps=max(1, search.epochs * steps_per_epoch), alpha=w.lr_min / w.lr)
    model.compile(
        weight_optimizer=FusedMomentumSGD(lr, momentum=w.momentum, name="weight_sgd"),
        arch_optimizer=keras.optimizers.Adam(a.lr, beta_1=a.beta_1, beta_2=a.beta_2,
                                             name="arch_adam"),
        weight_decay=w.weight_decay, arch_weight_decay=a.weight_decay, clipnorm=w.clipnorm,
        method=make_method(search, len(network.op_names)))
    model.build_optimizers()
    return model


def _resume_point(run_path: Path, signature: dict):
    ckpts = checkpoint.list_checkpoints(run_path / run_dir_lib.CHECKPOINT_DIR)
    if not ckpts:
        return None
    path = ckpts[-1][1]
    checkpoint.read_meta(path)  # fail early, naming the file, if it is corrupt
    return path


def run_search(cfg: config_lib.Config | None = None, resume: str | Path | None = None,
               verbose: int = 0, extra_callbacks=()):
    """Runs (or resumes) an ASAP search and writes `genotype.json`.

    Args:
        cfg: the configuration (ignored when resuming: the run's resolved config is used).
        resume: a run directory to continue from its newest checkpoint.
        verbose: Keras progress output (0 silent, 1 bar, 2 one line per epoch).
        extra_callbacks: more Keras callbacks, run after the search's own.

    Returns:
        `(run_path, genotype)`.

    Raises:
        ConfigError, DataError, RunDirError, CheckpointError: bad input.
    """
    from asap_keras.data.search_split import SearchData
    from asap_keras.data.sources import load_images
    from asap_keras.search.callbacks import (
        Anneal,
        FollowPrunes,
        ScheduledPrune,
        SearchCheckpoint,
    )
    from asap_keras.search.final_prune import evaluate_derived_cell
    from asap_keras.search.recorder import EventRecorder
    from asap_keras.stopping import StopOnDivergence, StopWhenRequested

    if resume is not None:
        run_path, cfg = open_search_run(resume)
    elif cfg is None:
        raise RunDirError("run_search needs a config or a run directory to resume")
    configure_runtime(cfg.run.seed, cfg.runtime.deterministic)
    d = cfg.data
    images = load_images(d.source, d.name, d.root, d.data_dir, d.image_size, d.limit,
                         cfg.run.seed)
    data = SearchData(images, d.batch_size, d.val_fraction, cfg.run.seed, d.augment)
    signature = model_signature(cfg, data.image_shape, data.num_classes)
    if resume is None:
        run_path = run_dir_lib.create_run_dir(
            cfg.run.runs_dir, cfg.run.name, config_lib.dump_config(cfg),
            {"seed": cfg.run.seed, "signature": signature, "class_names": list(
                images.class_names), "kind": "search"})
        resume_from = None
    else:
        resume_from = _resume_point(run_path, signature)
    strategy = make_strategy(cfg.runtime.strategy)
    with strategy.scope():
        model = build_model(cfg, data.image_shape, data.num_classes, data.steps_per_epoch)
    start_epoch = 0
    if resume_from is not None:
        start_epoch = checkpoint.restore(model, resume_from, signature)
    log = EventLog(run_path / run_dir_lib.EVENTS_FILE)
    log.emit("run_start", run=run_path.name, config=config_lib.config_to_dict(cfg),
             versions=run_dir_lib.versions(), seed=cfg.run.seed, start_epoch=start_epoch,
             strategy=cfg.runtime.strategy, replicas=strategy.num_replicas_in_sync,
             steps_per_epoch=data.steps_per_epoch, image_shape=list(data.image_shape),
             class_names=list(images.class_names))
    method = model.method
    recorder = EventRecorder(log, method, cfg.search.log_every_steps,
                             str(run_path / run_dir_lib.TENSORBOARD_DIR))
    callbacks = [
        StopOnDivergence(),  # first: a NaN step must reach no other callback
        StopWhenRequested(),
        Anneal(method),
        ScheduledPrune(method),
        FollowPrunes(cfg.search.prune.rebuild_fraction, log),
        SearchCheckpoint(run_path / run_dir_lib.CHECKPOINT_DIR, signature, log),
        recorder,
        *extra_callbacks,
    ]
    def last_epoch():  # the last finished epoch, for run_end
        return start_epoch - 1 if recorder.last_epoch is None else recorder.last_epoch

    with ends_run(log, last_epoch) as outcome:
        if start_epoch < cfg.search.epochs and not _is_discrete(model):
            model.fit(data.train_dataset(start_epoch, cfg.search.epochs),
                      steps_per_epoch=data.steps_per_epoch, epochs=cfg.search.epochs,
                      initial_epoch=start_epoch, validation_data=data.val_dataset(),
                      callbacks=callbacks, verbose=verbose, shuffle=False)
        genotype = final_genotype(model)
        run_dir_lib.atomic_write_text(run_path / run_dir_lib.GENOTYPE_FILE,
                                      genotype.to_json() + "\n")
        final = evaluate_derived_cell(model, genotype, data.val_dataset())
        log.emit("final_prune", epoch=last_epoch(), genotype=genotype.to_dict(),
                 val_accuracy_before=recorder.last_val_accuracy, **final)
        outcome.finish("discrete" if _is_discrete(model) else "epoch_cap")
        return run_path, genotype


def _is_discrete(model) -> bool:
    from asap_keras.search import schedules

    arch = model.network.arch.snapshot()
    return all(schedules.is_discrete(arch["alive"][t]) for t in model.network.cell_types)


def final_genotype(model):
    """The genotype of the model's current architecture state, by its method's rule."""
    network = model.network
    return model.method.derive(network.arch.snapshot(), network.op_names, network.nodes)
