"""Derives the genotype of any search checkpoint, without building the model."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from asap_keras import run_dir as run_dir_lib
from asap_keras.config import load_config
from asap_keras.errors import AsapError, CheckpointError, ConfigError, RunDirError
from asap_keras.search import checkpoint
from asap_keras.space import genotype as genotype_lib


def derive_from_checkpoint(path: str | Path, rule=None) -> genotype_lib.Genotype:
    """The genotype of the architecture state stored in a checkpoint (any readable format).

    Args:
        path: the checkpoint.
        rule: `rule(state, op_names, nodes) -> Genotype` (see `derivation_rule`); default
            `genotype.derive`, the DARTS rule.

    Raises:
        CheckpointError: the file is missing, corrupt, or holds a malformed state (see
            `checkpoint.read_arch_state`), or one the rule cannot derive from; the message
            names the file.
    """
    state, meta = checkpoint.read_arch_state(Path(path))
    signature = meta["signature"]
    try:
        return (rule or genotype_lib.derive)(state, signature["ops"], signature["nodes"])
    except (AsapError, KeyError) as err:  # KeyError: a rule needing state not checkpointed
        raise CheckpointError(f"cannot derive a cell ({err}). Received: {str(path)!r}") from None


def derivation_rule(run_path: Path):
    """How a run derives its cells: by its search method's rule (`SearchMethod.derive`).

    Each method says how its state becomes a cell (ASAP's and DARTS' top-2 edges per node,
    GOLD-NAS' and NAP's own rules, DARTS or free topology), and the run's genotype events
    used it, so `derive` reads the run's config and uses the same. The methods (and
    TensorFlow) are imported only when the rule is first applied, after the checkpoint was
    read. A config this version cannot load falls back to `genotype.derive`, the DARTS rule
    `derive` used before methods had their own.

    Returns:
        `rule(state, op_names, nodes) -> Genotype`.
    """
    try:
        cfg = load_config(run_path / run_dir_lib.CONFIG_FILE)
    except ConfigError:
        return genotype_lib.derive

    def method_rule(state, op_names, nodes):
        from asap_keras.search.methods import make_method

        method = make_method(cfg.search, len(op_names), cfg.space.topology)
        return method.derive(state, op_names, nodes)

    return method_rule


def check_out_path(out: str | Path) -> Path:
    """Checks that a file can be written at `out`: its folder exists, and it is no folder.

    Raises:
        RunDirError: the folder is missing (or not a folder), `out` is a directory or
            another non-file, or the path cannot be examined (a name too long).
    """
    out = Path(out)
    try:
        folder = _mode(out.parent)
        if folder is None or not stat.S_ISDIR(folder):
            raise RunDirError(f"--out's folder does not exist. Received: --out={str(out)!r}")
        mode = _mode(out)
    except (OSError, ValueError) as err:
        raise RunDirError(f"cannot write there ({getattr(err, 'strerror', None) or err}). "
                          f"Received: --out={str(out)!r}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise RunDirError(f"--out is a directory; name a file. Received: --out={str(out)!r}")
    if mode is not None and not stat.S_ISREG(mode):
        raise RunDirError(f"--out is not a regular file. Received: --out={str(out)!r}")
    return out


def _mode(path: Path) -> int | None:
    """`st_mode` of what is at `path` (links followed), or None if nothing is."""
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


def derive_run(run_path: str | Path, checkpoint_file: str | Path | None = None):
    """The genotype of a run's newest checkpoint (or of `checkpoint_file`), by its rule.

    See `derivation_rule`: the cells are derived by the run's search method.

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
    rule = derivation_rule(run_path)
    return derive_from_checkpoint(checkpoint_file, rule), Path(checkpoint_file)


def write_genotype(genotype: genotype_lib.Genotype, out: str | Path) -> Path:
    """Writes the genotype's JSON to `out` atomically.

    Raises:
        RunDirError: `out` cannot be written (see `check_out_path`, or the write failed);
            nothing is left behind.
    """
    out = check_out_path(out)
    try:
        run_dir_lib.atomic_write_text(out, genotype.to_json() + "\n")
    except OSError as err:
        raise RunDirError(f"cannot write the genotype ({err.strerror or err}). "
                          f"Received: --out={str(out)!r}") from None
    return out
