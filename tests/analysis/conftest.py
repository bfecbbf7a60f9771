"""Synthetic search run directories for the analysis tests."""

import pytest

from tests.analysis.synthetic_runs import (
    ASAP,
    ASAP_A,
    ASAP_RESUMED,
    DARTS_OLD,
    DARTS_V2,
    NO_EPOCHS,
    RETRAIN,
    write_run,
)


@pytest.fixture
def runs(tmp_path):
    """The five synthetic run directories, by name."""
    root = tmp_path / "runs"
    return {
        "asap-a": write_run(root, "asap-a", ASAP_A, DARTS_V2),
        "asap-resumed": write_run(root, "asap-resumed", ASAP_RESUMED, ASAP),
        "darts-old": write_run(root, "darts-old", DARTS_OLD),
        "retrain": write_run(root, "retrain", RETRAIN, DARTS_V2, kind="train"),
        "no-epochs": write_run(root, "no-epochs", NO_EPOCHS, DARTS_V2),
    }
