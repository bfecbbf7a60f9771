"""`--genotype` specs: free genotype files and `PATH#K` entries of a list (a pareto.json)."""

import json
import os

import pytest

from asap_keras.child.genotypes import BUILT_IN, resolve
from asap_keras.errors import GenotypeError
from asap_keras.space.genotype import Genotype

FREE = Genotype.free([("sep_conv_3x3", 0, 2), ("skip_connect", 0, 2), ("max_pool_3x3", 2, 3)],
                     [("avg_pool_3x3", 1, 2)], nodes=2)


def write_pareto(path, genotypes):
    entries = [{"genotype": g.to_dict(), "multiply_adds": 1000 * (i + 1),
                "val_accuracy": 0.5 + i / 10, "epoch": i} for i, g in enumerate(genotypes)]
    path.write_text(json.dumps(entries))
    return path


def test_a_free_genotype_file_resolves(tmp_path):
    path = tmp_path / "genotype.json"
    path.write_text(FREE.to_json())
    assert resolve(str(path)) == FREE


def test_path_hash_k_takes_entry_k_of_the_list(tmp_path):
    pareto = write_pareto(tmp_path / "pareto.json", [BUILT_IN["darts_v2"], FREE])
    assert resolve(f"{pareto}#0") == BUILT_IN["darts_v2"]
    assert resolve(f"{pareto}#1") == FREE
    # A file whose own name holds '#' is read as a genotype file.
    odd = tmp_path / "cell#1.json"
    odd.write_text(FREE.to_json())
    assert resolve(str(odd)) == FREE


@pytest.mark.parametrize("content, spec_tail, match", [
    (None, "#2", r"K must be below the list's 2 entries\. Received: genotype='.*pareto\.json#2'"),
    (None, "#-1", r"needs K, a non-negative integer .*pareto\.json#-1'"),
    (None, "#one", r"needs K, a non-negative integer .*pareto\.json#one'"),
    (None, "#", r"needs K.*pareto\.json#'"),
    ({"genotype": {}}, "#0", r"must hold a JSON list .*Received: dict in '.*pareto\.json#0'"),
    ([{"no_genotype": 1}], "#0", r"entry K must be an object with a \"genotype\" key.*#0'"),
    ([3], "#0", r"entry K must be an object .*Received: 3 in '.*pareto\.json#0'"),
    ([{"genotype": {"normal": []}}], "#0", r"pareto\.json#0: genotype misses keys"),
    ("[", "#0", r"PATH is not JSON .*Received: genotype='.*pareto\.json#0'"),
])
def test_path_hash_k_refusals_name_the_path_and_k(tmp_path, content, spec_tail, match):
    pareto = tmp_path / "pareto.json"
    if content is None:
        write_pareto(pareto, [BUILT_IN["darts_v2"], FREE])
    else:
        pareto.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(GenotypeError, match=match) as info:
        resolve(f"{pareto}{spec_tail}")
    assert "\n" not in str(info.value)


def test_path_hash_k_of_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(GenotypeError, match=r"no file at PATH\. .*absent\.json#1'"):
        resolve(f"{tmp_path / 'absent.json'}#1")
    with pytest.raises(GenotypeError, match=r"not a regular file\. .*Received: .*#0'"):
        resolve(f"{tmp_path}#0")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_path_hash_k_of_a_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "pareto.json"
    os.mkfifo(fifo)
    with pytest.raises(GenotypeError, match=r"not a regular file.*pareto\.json#0'"):
        resolve(f"{fifo}#0")
