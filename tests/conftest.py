"""Shared fixtures: quiet TensorFlow logs, repository paths."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def configs_dir():
    return ROOT / "configs"
