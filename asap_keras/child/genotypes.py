"""Published cells to compare against: ASAP (Noy et al. 2019) and DARTS V1/V2 (Liu et al.)."""

from __future__ import annotations

import json
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
# A list of genotypes (`pareto.json`, one entry per front member) for `PATH#K`.
MAX_LIST_BYTES = 64 << 20
INDEX_MARK = "#"
_MAX_SEED_DIGITS = 19  # seeds below 10**19, which numpy's generators take as they are


def resolve(spec: str) -> Genotype:
    """A built-in name, `random:SEED`, a genotype file, or `PATH#K`: entry K of a list.

    Built-in names: `asap`, `darts_v1`, `darts_v2`. `random:SEED` is a cell drawn uniformly
    from the paper's 7-op DARTS space (`genotype.random_genotype`), the random-search
    baseline. A genotype file holds one genotype of either topology (`Genotype.from_dict`).
    `PATH#K` reads a JSON file holding a list of entries, each with a "genotype" key (a
    search's `pareto.json`), and takes entry K (0-based). Reads no TensorFlow.

    Raises:
        GenotypeError: none of these, or an unreadable or invalid genotype file (one line
            naming the file, and K for `PATH#K`).
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
    if not _exists(path) and INDEX_MARK in spec:
        head, index = spec.rsplit(INDEX_MARK, 1)
        return _list_entry(Path(head), index)
    if not _exists(path):
        raise GenotypeError(f"--genotype must be one of {sorted(BUILT_IN)}, random:SEED, a "
                            f"genotype.json file or LIST.json#K. Received: "
                            f"genotype={quote(spec)}")
    raw = run_dir_lib.read_json_object(path, GenotypeError, MAX_GENOTYPE_BYTES)
    try:
        return Genotype.from_dict(raw)
    except GenotypeError as err:
        raise GenotypeError(f"{spec}: {err}") from None


def _list_entry(path: Path, index: str) -> Genotype:
    """The genotype of entry `index` of the JSON list at `path` (`PATH#K` of `resolve`)."""
    where = quote(f"{path}{INDEX_MARK}{index}", 200)
    if not (index.isascii() and index.isdigit() and len(index) <= _MAX_SEED_DIGITS):
        raise GenotypeError(f"--genotype PATH#K needs K, a non-negative integer index into "
                            f"the list. Received: genotype={where}")
    entries = _read_list(path, where)
    k = int(index)
    if k >= len(entries):
        raise GenotypeError(f"--genotype PATH#K: K must be below the list's {len(entries)} "
                            f"entries. Received: genotype={where}")
    entry = entries[k]
    if not isinstance(entry, dict) or "genotype" not in entry:
        raise GenotypeError(f"--genotype PATH#K: entry K must be an object with a "
                            f"\"genotype\" key. Received: {quote(entry)} in {where}")
    try:
        return Genotype.from_dict(entry["genotype"])
    except GenotypeError as err:
        raise GenotypeError(f"{path}{INDEX_MARK}{k}: {err}") from None


def _read_list(path: Path, where: str) -> list:
    """The JSON list in the file at `path`; `where` (PATH#K, quoted) names it in errors."""
    if not _exists(path):
        raise GenotypeError(f"--genotype PATH#K: no file at PATH. Received: genotype={where}")
    try:
        data = run_dir_lib.read_regular_file(path, GenotypeError, MAX_LIST_BYTES)
        entries = json.loads(data.decode("utf-8-sig"))
    except GenotypeError as err:  # not a regular file, unreadable, too large
        why = str(err).split(". Received")[0]
        raise GenotypeError(f"--genotype PATH#K: {why}. Received: genotype={where}") from None
    except RecursionError:
        raise GenotypeError(f"--genotype PATH#K: PATH nests too deeply. "
                            f"Received: genotype={where}") from None
    except ValueError as err:  # not UTF-8, not JSON, a 4300-digit integer
        why = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise GenotypeError(f"--genotype PATH#K: PATH is not JSON ({why}). "
                            f"Received: genotype={where}") from None
    if not isinstance(entries, list):
        raise GenotypeError(f"--genotype PATH#K: PATH must hold a JSON list of entries with "
                            f"a genotype. Received: {type(entries).__name__} in {where}")
    return entries


def _exists(path: Path) -> bool:
    """Whether anything is at `path` (a FIFO or folder too: reading it names the problem)."""
    try:
        os.lstat(path)
    except (OSError, ValueError):  # missing, a name too long, an embedded NUL
        return False
    return True
