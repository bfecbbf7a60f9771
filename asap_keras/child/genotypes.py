"""Published cells to compare against: ASAP (Noy et al. 2019) and DARTS V1/V2 (Liu et al.)."""

from __future__ import annotations

import os
from pathlib import Path

from asap_keras import run_dir as run_dir_lib
from asap_keras.errors import GenotypeError, quote
from asap_keras.space.genotype import Genotype, random_genotype
from asap_keras.space.primitives import ASAP_OPS

CONCAT = (2, 3, 4, 5)

BUILT_IN = {
    "asap": Genotype(
        normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("skip_connect", 1)),
        normal_concat=CONCAT,
        reduce=(("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0),
                ("dil_conv_5x5", 2), ("skip_connect", 2), ("max_pool_3x3", 1),
                ("skip_connect", 2), ("max_pool_3x3", 0)),
        reduce_concat=CONCAT),
    "darts_v1": Genotype(
        normal=(("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0), ("skip_connect", 2)),
        normal_concat=CONCAT,
        reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 0), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("avg_pool_3x3", 0)),
        reduce_concat=CONCAT),
    "darts_v2": Genotype(
        normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("skip_connect", 0),
                ("skip_connect", 0), ("dil_conv_3x3", 2)),
        normal_concat=CONCAT,
        reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("max_pool_3x3", 1)),
        reduce_concat=CONCAT),
}


RANDOM_PREFIX = "random:"


# A genotype file is a few hundred bytes; this bounds what `--genotype FILE` reads.
MAX_GENOTYPE_BYTES = 1 << 20
_MAX_SEED_DIGITS = 19  # seeds below 10**19, which numpy's generators take as they are


def resolve(spec: str) -> Genotype:
    """A built-in name (`asap`, `darts_v1`, `darts_v2`), `random:SEED` or a genotype file.

    `random:SEED` is a cell drawn uniformly from the paper's 7-op DARTS space
    (`genotype.random_genotype`), the random-search baseline. Reads no TensorFlow.

    Raises:
        GenotypeError: none of these, or an unreadable or invalid genotype file (one line
            naming the file).
    """
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    if spec.startswith(RANDOM_PREFIX):
        seed = spec[len(RANDOM_PREFIX):]
        if not (seed.isascii() and seed.isdigit() and len(seed) <= _MAX_SEED_DIGITS):
            raise GenotypeError(f"--genotype random:SEED needs a non-negative integer seed of "
                                f"at most {_MAX_SEED_DIGITS} digits. Received: "
                                f"genotype={quote(spec)}")
        return random_genotype(ASAP_OPS, 4, int(seed))
    path = Path(spec)
    if not _exists(path):
        raise GenotypeError(f"--genotype must be one of {sorted(BUILT_IN)}, random:SEED or a "
                            f"genotype.json file. Received: genotype={quote(spec)}")
    raw = run_dir_lib.read_json_object(path, GenotypeError, MAX_GENOTYPE_BYTES)
    try:
        return Genotype.from_dict(raw)
    except GenotypeError as err:
        raise GenotypeError(f"{spec}: {err}") from None


def _exists(path: Path) -> bool:
    """Whether anything is at `path` (a FIFO or folder too: reading it names the problem)."""
    try:
        os.lstat(path)
    except (OSError, ValueError):  # missing, a name too long, an embedded NUL
        return False
    return True

