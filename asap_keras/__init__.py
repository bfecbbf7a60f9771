"""asap-keras: ASAP differentiable architecture search for Keras 3 / TensorFlow.

`import asap_keras` is enough to load a saved `model.keras` (its layers register with Keras
as soon as Keras is imported) and gives the Python API: `asap_keras.search`,
`asap_keras.train` and `asap_keras.export`. Importing the package itself imports neither
Keras nor TensorFlow, so the monitor can read event logs without them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

_API = ("search", "train", "export", "SearchResult", "TrainResult")


def __getattr__(name):
    # `search` and `export` are also a subpackage and a module of this package, made
    # callable (see `callable_module`); importing them keeps TensorFlow out.
    if name in ("search", "export"):
        return importlib.import_module(f"asap_keras.{name}")
    if name in _API:
        from asap_keras import api

        return getattr(api, name)
    raise AttributeError(f"module 'asap_keras' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])


def _package_importing() -> bool:
    """True while a module of this package is being executed (mid-import)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("asap_keras.") and getattr(
                getattr(module, "__spec__", None), "_initializing", False):
            return True
    return False


def _register_keras_objects() -> None:
    try:
        from asap_keras import keras_objects

        keras_objects.register()
    except Exception as err:  # never break the user's `import keras`
        warnings.warn(f"asap_keras could not register its Keras layers ({err}); import "
                      f"asap_keras.keras_objects before loading a model.keras", stacklevel=2)


class _RegisterAfterKeras(importlib.abc.Loader):
    """Wraps Keras' loader: runs it, then registers this package's Keras objects."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        # Inside the package's own import chain a module is half built: registering now
        # would import it circularly. Those paths (the API, the CLI) register on their own.
        if not _package_importing():
            _register_keras_objects()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """One-shot finder: hands `keras` to its real loader wrapped in `_RegisterAfterKeras`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterKeras(spec.loader)
        return spec


if "keras" in sys.modules:
    _register_keras_objects()
elif not any(isinstance(f, _KerasImportHook) for f in sys.meta_path):
    sys.meta_path.insert(0, _KerasImportHook())
