"""Lets `asap_keras.search(...)` and `asap_keras.export(...)` be called although `search`
is a subpackage and `export` a module of the same names.

Python binds an imported submodule as an attribute of its package, which would hide a
function of the same name, so the module itself is made callable: calling it calls the API
function (`asap_keras.api.search`, `asap_keras.api.export`).
"""

from __future__ import annotations

import importlib
import sys
import types


def make_callable(module_name: str, function: str) -> None:
    """Makes module `module_name` callable as `asap_keras.api.<function>`."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(importlib.import_module("asap_keras.api"), function)(*args, **kwargs)

    CallableModule.__call__.__doc__ = f"Calls `asap_keras.api.{function}` (see its docstring)."
    sys.modules[module_name].__class__ = CallableModule
