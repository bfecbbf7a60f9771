"""The cluster from TF_CONFIG, the chief, scratch places and lost-worker errors (no TF)."""

import json

import pytest

from asap_keras import workers
from asap_keras.errors import ConfigError


def tf_config(cluster, kind, index):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind,
                                                                  "index": index}})}


def test_the_chief_is_worker_0_unless_the_cluster_names_one():
    two = {"worker": ["a:1", "b:1"]}
    assert workers.read_tf_config(tf_config(two, "worker", 0)).is_chief
    assert not workers.read_tf_config(tf_config(two, "worker", 1)).is_chief
    with_chief = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    assert workers.read_tf_config(tf_config(with_chief, "chief", 0)).is_chief
    task = workers.read_tf_config(tf_config(with_chief, "worker", 0))
    assert not task.is_chief and task.workers == 3 and task.name == "/job:worker/task:0"


@pytest.mark.parametrize("raw, words", [
    ("", "which is not set"),
    ("{not json", "must be a JSON object"),
    ('{"cluster": {"worker": ["a:1"]}}', "must be a JSON object"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
     "index into that job"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
     "name a job of its cluster"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": "0"}}',
     "index into that job"),
])
def test_a_bad_tf_config_is_refused_naming_it(raw, words):
    with pytest.raises(ConfigError, match="TF_CONFIG") as err:
        workers.read_tf_config({"TF_CONFIG": raw})
    assert words in str(err.value) and "Received: TF_CONFIG=" in str(err.value)


def test_a_worker_writes_into_a_scratch_copy_that_is_removed(tmp_path):
    run = tmp_path / "runs" / "r1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch-0001.npz").write_bytes(b"state")
    with workers.writable_place(False, str(tmp_path / "runs"), run) as (runs_dir, copy):
        assert copy != run and copy.name == "r1"
        assert (copy / "checkpoints" / "epoch-0001.npz").read_bytes() == b"state"
        (copy / "events.jsonl").write_text("written by a worker\n")
        scratch = runs_dir
    assert not (run / "events.jsonl").exists()  # the run directory is untouched
    assert sorted(p.name for p in run.rglob("*")) == ["checkpoints", "epoch-0001.npz"]
    assert not (tmp_path / "runs" / "r1" / "events.jsonl").exists()
    import os

    assert not os.path.exists(scratch)
    with workers.writable_place(True, "runs", run) as place:
        assert place == ("runs", run)  # the chief writes where it was told


def test_a_lost_worker_is_named_from_tensorflows_message():
    message = ("Collective ops is aborted by: Error reported from /job:worker/task:0: The "
               "following tasks are unhealthy (stopped sending heartbeats):\n"
               "/job:worker/replica:0/task:1\nThe tasks have crashed.")
    assert workers.lost_workers(RuntimeError(message)) == ["/job:worker/task:1"]
    assert workers.lost_workers(RuntimeError("Socket closed")) == []
