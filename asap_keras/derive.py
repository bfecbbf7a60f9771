"""Derives the genotype of any search checkpoint, without building the model."""

from __future__ import annotations

from pathlib import Path

from asap_keras import run_dir as run_dir_lib
from asap_keras.errors import CheckpointError
from asap_keras.search import checkpoint
from asap_keras.space import genotype as genotype_lib


def derive_from_checkpoint(path: str | Path) -> genotype_lib.Genotype:
    """The genotype of the architecture state stored in a checkpoint file."""
    state, meta = checkpoint.read_arch_state(Path(path))
    signature = meta.get("signature") or {}
    ops, nodes = signature.get("ops"), signature.get("nodes")
    if not ops or not nodes:
        raise CheckpointError(f"checkpoint metadata lacks the op set or node count. "
                              f"Received: {str(path)!r}")
    return genotype_lib.derive(state, ops, nodes)


def derive_run(run_path: str | Path, checkpoint_file: str | Path | None = None):
    """The genotype of a run's newest checkpoint (or of `checkpoint_file`).

    Returns:
        `(genotype, checkpoint_path)`.

    Raises:
        RunDirError, CheckpointError: no run directory, no checkpoint, or a corrupt one.
    """
    run_path = run_dir_lib.open_run_dir(run_path)
    if checkpoint_file is None:
        found = checkpoint.list_checkpoints(run_path / run_dir_lib.CHECKPOINT_DIR)
        if not found:
            raise CheckpointError(f"no checkpoint in run directory. Received: {str(run_path)!r}")
        checkpoint_file = found[-1][1]
    return derive_from_checkpoint(checkpoint_file), Path(checkpoint_file)
