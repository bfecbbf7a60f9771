"""Registers every Keras object the package saves, so `keras.saving.load_model` finds them.

A `model.keras` names its classes `asap_keras>EvalNetwork` and so on; Keras resolves such
names only from its registry, which fills when the defining modules are imported. This
module imports them all. `import asap_keras` arranges for it to run as soon as Keras is
imported (at once if it already is), without importing TensorFlow itself, so the monitor,
which reads only event logs, stays free of it.
"""

from __future__ import annotations

import importlib

# Every module with a `@keras.saving.register_keras_serializable` class or function.
MODULES = (
    "asap_keras.space.ops",
    "asap_keras.space.mixed_op",
    "asap_keras.space.cell",
    "asap_keras.space.arch_params",
    "asap_keras.space.network",
    "asap_keras.search.optimizers",
    "asap_keras.search.model",
    "asap_keras.child.network",
    "asap_keras.child.lr_schedules",
    "asap_keras.child.autoaugment",
)


def register() -> None:
    """Imports every module that registers a Keras object (idempotent)."""
    for name in MODULES:
        importlib.import_module(name)
