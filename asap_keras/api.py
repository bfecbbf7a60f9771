"""The Python API: `asap_keras.search`, `asap_keras.train` and `asap_keras.export`.

Each call does what the command of the same name does, writes the same run directory and
event log, and returns what a notebook wants next: the genotype, the Keras `History`, the
run directory and (for a search) the final architecture state.

Example:
>>> import asap_keras
>>> found = asap_keras.search("configs/digits.toml", search__epochs=4)
>>> found.genotype.normal[:2]
>>> trained = asap_keras.train(found.genotype, "configs/digits_train.toml")
>>> asap_keras.export(trained.run_dir, "exported/digits")
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asap_keras import config as config_lib
from asap_keras.data.arrays import ARRAYS_SOURCE, fingerprint, image_set
from asap_keras.errors import ConfigError, quote


@dataclass(frozen=True)
class SearchResult:
    """What `search` returns.

    Attributes:
        genotype: the found cell (also in `run_dir / "genotype.json"`).
        history: the Keras `History` of the search's `fit` (None if nothing was left to
            train on a resume).
        run_dir: the run directory.
        state: the final architecture state as numpy: `alpha`, `alive` (per cell type),
            `temperature`, `threshold`, ... (see `ArchParams.snapshot`).
    """

    genotype: Any
    history: Any
    run_dir: Path
    state: dict


@dataclass(frozen=True)
class TrainResult:
    """What `train` returns: the run directory, `results.json` as a dict, the `History` and
    the trained `EvalNetwork`."""

    run_dir: Path
    results: dict
    history: Any
    model: Any


def _overrides_to_dict(overrides: dict) -> dict:
    """`{"search__epochs": 4}` as the nested `{"search": {"epochs": 4}}`."""
    nested: dict = {}
    for key, value in overrides.items():
        parts = key.split("__")
        if not all(parts):
            raise ConfigError(f"an override is `table__key=value` (e.g. search__epochs=4). "
                              f"Received: {quote(key)}")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {quote(key)} sets a key inside a value")
        node[parts[-1]] = value
    return nested


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_config(config, overrides: dict, schema=config_lib.Config):
    """A validated config from a TOML path, a dict, a config object or None (defaults), with
    `table__key=value` overrides applied.

    Raises:
        ConfigError: an unreadable file, an unknown key or a bad value (named).
    """
    if config is None:
        raw = {}
    elif isinstance(config, (str, Path)):
        path = Path(config)
        try:
            raw = tomllib.loads(path.read_text())
        except OSError as err:
            raise ConfigError(f"cannot read the config file. Received: config="
                              f"{quote(str(path))} ({err.strerror or err})") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"the config is not valid TOML ({err}). Received: config="
                              f"{quote(str(path))}") from None
    elif isinstance(config, dict):
        raw = config
    elif isinstance(config, schema):
        raw = config_lib.config_to_dict(config)
    else:
        raise ConfigError(f"config must be a TOML path, a dict or a {schema.__name__}. "
                          f"Received: {type(config).__name__}")
    return config_lib.config_from_dict(_merge(raw, _overrides_to_dict(overrides)),
                                       schema=schema)


def search(config=None, data=None, callbacks=(), *, resume=None, class_names=None,
           verbose=0, **overrides) -> SearchResult:
    """Runs an architecture search, as `asap-keras search` does.

    Args:
        config: a TOML path, a dict of tables, a `Config`, or None (the defaults: ASAP on
            the embedded digits).
        data: None (the config's `[data]`), `(images, labels)` arrays, or a
            `tf.data.Dataset` of `(image, label)`. Arrays are recorded in the run as
            `data.source = "arrays"` with their SHA-256; resuming such a run needs the same
            arrays again.
        callbacks: more Keras callbacks for the search's `fit`.
        resume: a run directory to continue (config and overrides are then not allowed).
        class_names: names of the labels of `data` (default "0", "1", ...).
        verbose: 0 silent, 1 a progress bar, 2 a line per epoch.
        **overrides: config keys as `table__key=value`, e.g. `search__epochs=4`,
            `search__anneal__beta=0.9`.

    Returns:
        A `SearchResult`.

    Raises:
        ConfigError, DataError, RunDirError, CheckpointError: bad input, named.
    """
    from asap_keras import keras_objects
    from asap_keras.search.runner import search_run

    keras_objects.register()
    images = None if data is None else image_set(data, class_names)
    if resume is not None:
        if config is not None or overrides:
            raise ConfigError("a resumed search keeps its recorded config: pass resume= "
                              f"alone. Received: config={quote(config)}, overrides="
                              f"{quote(sorted(overrides))}")
        outcome = search_run(resume=resume, verbose=verbose, extra_callbacks=callbacks,
                             images=images, fingerprint=images and fingerprint(images))
    else:
        cfg = resolve_config(config, overrides)
        if images is not None:
            cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                                                  source=ARRAYS_SOURCE))
        outcome = search_run(cfg, verbose=verbose, extra_callbacks=callbacks, images=images,
                             fingerprint=images and fingerprint(images))
    return SearchResult(outcome.genotype, outcome.history, outcome.run_path, outcome.state)


def train(genotype, config=None, data=None, test_data=None, *, resume=None, class_names=None,
          verbose=0, **overrides) -> TrainResult:
    """Retrains a cell as the evaluation network, as `asap-keras train` does.

    Args:
        genotype: a `Genotype`, a `SearchResult`, or a spec `asap-keras train --genotype`
            takes (RUN_DIR, a genotype.json, RUN_DIR/pareto.json#K, darts_v2, random:SEED).
        config: a TOML path, a dict of tables, a `TrainConfig`, or None (the defaults).
        data, test_data: None (the config's `[data]`), or `(images, labels)` arrays / a
            `tf.data.Dataset`; without `test_data` a seeded `data.val_fraction` of `data` is
            held out as the test set.
        resume: a training run directory to continue (nothing else is then allowed but the
            same data).
        class_names, verbose: as for `search`.
        **overrides: config keys as `table__key=value`, e.g. `train__epochs=2`.

    Returns:
        A `TrainResult`.

    Raises:
        ConfigError, DataError, GenotypeError, RunDirError, CheckpointError: bad input.
    """
    from asap_keras import keras_objects
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve
    from asap_keras.child.runner import train_run
    from asap_keras.space.genotype import Genotype

    keras_objects.register()
    images = None if data is None else image_set(data, class_names)
    test_images = None if test_data is None else image_set(test_data, class_names)
    if test_images is not None and images is None:
        raise ConfigError("test_data needs data (the training images) too")
    digest = images and fingerprint(images)
    if resume is not None:
        if genotype is not None or config is not None or overrides:
            raise ConfigError("a resumed training run keeps its recorded genotype and "
                              "config: pass genotype=None and resume= alone")
        outcome = train_run(resume=resume, verbose=verbose, images=images,
                            test_images=test_images, fingerprint=digest)
    else:
        if isinstance(genotype, SearchResult):
            genotype, source = genotype.genotype, str(genotype.run_dir)
        elif isinstance(genotype, Genotype):
            source = "python"
        elif isinstance(genotype, (str, Path)):
            spec = str(genotype)
            if Path(spec).is_dir():
                spec = str(Path(spec) / "genotype.json")
            genotype, source = resolve(spec), str(genotype)
        else:
            raise ConfigError(f"genotype must be a Genotype, a SearchResult or a spec "
                              f"string. Received: {type(genotype).__name__}")
        cfg = resolve_config(config, overrides, schema=TrainConfig)
        if images is not None:
            cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                                                  source=ARRAYS_SOURCE))
        outcome = train_run(cfg, genotype, source, verbose, images=images,
                            test_images=test_images, fingerprint=digest)
    return TrainResult(outcome.run_path, outcome.results, outcome.history, outcome.model)


def export(run_dir, out, input_shape=None) -> Path:
    """Exports a retrained run as `asap-keras export` does: `out/saved_model` (endpoints
    `serve`, `serve_uint8`, `train`), `out/model.keras` and `out/metadata.json`.

    Args:
        run_dir: a training run directory (or a `TrainResult`).
        out: a new folder.
        input_shape: `(H, W, C)` to serve (default: the training images' shape).

    Returns:
        `out`.
    """
    from asap_keras.export import export_run

    if isinstance(run_dir, TrainResult):
        run_dir = run_dir.run_dir
    return export_run(run_dir, out, input_shape)
