"""Shared fixtures: quiet TensorFlow logs, repository paths, a fresh Keras session per module."""

import gc
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def configs_dir():
    return ROOT / "configs"


@pytest.fixture(autouse=True, scope="module")
def _release_keras_graphs():
    """Frees each module's models and traced functions once the module is done.

    The suite runs in one process; without this, every searched supernet and its
    traced steps stay reachable from Keras' global state and the process grows by
    gigabytes. The monitor's modules never import Keras, so nothing is imported here.
    """
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=True)
    gc.collect()
