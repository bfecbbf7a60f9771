"""Synthetic search run directories for the analysis tests."""

import json

import pytest

from tests.analysis.synthetic_runs import (
    ASAP,
    ASAP_A,
    ASAP_B,
    ASAP_RESUMED,
    AVG_CELL,
    DARTS_OLD,
    DARTS_V2,
    GOLD_A,
    GOLD_A_FRONT,
    GOLD_FILE,
    GOLD_FILE_ENTRIES,
    MAX_CELL,
    NO_EPOCHS,
    NO_SIZE,
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


@pytest.fixture
def pareto_runs(tmp_path):
    """Four runs for the accuracy vs multiply-adds figure, by name (see synthetic_runs)."""
    root = tmp_path / "pareto-runs"
    made = {
        "gold-a": write_run(root, "gold-a", GOLD_A, MAX_CELL),
        "asap-b": write_run(root, "asap-b", ASAP_B, AVG_CELL),
        "no-size": write_run(root, "no-size", NO_SIZE, MAX_CELL),
        "gold-file": write_run(root, "gold-file", GOLD_FILE, MAX_CELL),
    }
    (made["gold-a"] / "pareto.json").write_text(json.dumps(GOLD_A_FRONT))
    (made["gold-file"] / "pareto.json").write_text(json.dumps(GOLD_FILE_ENTRIES))
    return made
