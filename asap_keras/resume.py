"""Opening a run to resume, before TensorFlow is imported: its directory, kind and config."""

from __future__ import annotations

from pathlib import Path

from asap_keras import config as config_lib
from asap_keras import run_dir as run_dir_lib
from asap_keras.errors import RunDirError, quote

_OTHER_COMMAND = {"search": "asap-keras search --resume", "train": "asap-keras train --resume"}


def _open(resume, kind: str) -> tuple[Path, dict]:
    run_path = run_dir_lib.open_run_dir(resume)
    info = run_dir_lib.read_run_info(run_path)
    found = info.get("kind", "unknown")
    if found != kind:
        shown = found if isinstance(found, str) and found.isidentifier() else quote(found)
        other = _OTHER_COMMAND.get(found)
        hint = f"; resume it with `{other}`" if other else ""
        raise RunDirError(f"{run_path} is a {shown} run, not a {kind} run{hint}. "
                          f"Received: --resume={quote(str(resume))}")
    return run_path, info


def open_search_run(resume) -> tuple[Path, config_lib.Config]:
    """The directory and resolved config of a search run to resume.

    Raises:
        RunDirError, ConfigError: not a search run directory, or a broken config.
    """
    run_path, _ = _open(resume, "search")
    return run_path, config_lib.load_config(run_path / run_dir_lib.CONFIG_FILE)


def open_training_run(resume):
    """The directory, config, genotype and genotype source of a training run to resume.

    Raises:
        RunDirError, ConfigError, GenotypeError: not a training run directory, or a broken
            config or genotype file.
    """
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve

    run_path, info = _open(resume, "train")
    cfg = config_lib.load_config(run_path / run_dir_lib.CONFIG_FILE, schema=TrainConfig)
    genotype = resolve(str(run_path / run_dir_lib.GENOTYPE_FILE))
    source = info.get("genotype_source", "")
    return run_path, cfg, genotype, source if isinstance(source, str) else ""
