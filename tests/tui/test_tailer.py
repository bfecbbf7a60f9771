"""The follower alone: partial lines, truncation, replacement, corrupt and foreign lines."""

import json
import os

from asap_keras import events
from tui.tailer import MAX_READ_BYTES, Tailer


def line(kind="checkpoint", **fields):
    fields = fields or {"epoch": 0, "path": "ckpt-0000.npz"}
    return events.encode(kind, when=1.0, **fields) + "\n"


def test_missing_file_then_created(tmp_path):
    path = tmp_path / "events.jsonl"
    tailer = Tailer(path)
    batch = tailer.poll()
    assert not batch.exists and not batch.events
    path.write_text(line())
    batch = tailer.poll()
    assert batch.exists and [e.kind for e in batch.events] == ["checkpoint"]
    assert not tailer.poll().events


def test_partial_line_waits_for_its_newline(tmp_path):
    path = tmp_path / "events.jsonl"
    text = line(epoch=3, path="a.npz")
    path.write_text(text[:10])
    tailer = Tailer(path)
    batch = tailer.poll()
    assert not batch.events and not batch.errors and tailer.has_partial_line
    with open(path, "a") as f:
        f.write(text[10:])
    batch = tailer.poll()
    assert [e["epoch"] for e in batch.events] == [3]
    assert not batch.errors and not tailer.has_partial_line


def test_corrupt_and_unknown_version_lines_are_reported_and_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    future = json.dumps({"v": 99, "kind": "epoch", "time": 1.0})
    path.write_text(line(epoch=0, path="a") + "{not json\n" + future + "\n\n"
                    + line(epoch=1, path="b"))
    batch = Tailer(path).poll()
    assert [e["epoch"] for e in batch.events] == [0, 1]
    assert [err.line for err in batch.errors] == [2, 3]
    assert "not JSON" in batch.errors[0].message
    assert "v=99" in batch.errors[1].message


def test_truncated_file_is_reread_from_the_start(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(line(epoch=0, path="a") + line(epoch=1, path="b"))
    tailer = Tailer(path)
    assert len(tailer.poll().events) == 2
    path.write_text(line(epoch=7, path="c"))  # shorter: truncated and rewritten
    batch = tailer.poll()
    assert batch.reset and [e["epoch"] for e in batch.events] == [7]


def test_truncated_and_regrown_past_the_old_size_is_noticed(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(line(epoch=0, path="a"))
    tailer = Tailer(path)
    tailer.poll()
    with open(path, "w") as f:  # same inode, new content longer than before
        f.write(line(epoch=5, path="a-much-longer-checkpoint-name.npz") * 3)
    batch = tailer.poll()
    assert batch.reset and [e["epoch"] for e in batch.events] == [5, 5, 5]


def test_replaced_file_is_reread(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(line(epoch=0, path="a"))
    tailer = Tailer(path)
    tailer.poll()
    other = tmp_path / "new.jsonl"
    other.write_text(line(epoch=0, path="a") + line(epoch=1, path="b"))
    os.replace(other, path)  # a restarted run: a new file under the old name
    batch = tailer.poll()
    assert batch.reset and len(batch.events) == 2


def test_deleted_file_resets(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(line())
    tailer = Tailer(path)
    tailer.poll()
    path.unlink()
    batch = tailer.poll()
    assert batch.reset and not batch.exists


def test_large_log_is_read_in_slices(tmp_path):
    path = tmp_path / "events.jsonl"
    one = line("step", epoch=0, step=1, metrics={"loss": 1.0, "accuracy": 0.5})
    count = MAX_READ_BYTES // len(one) + 100
    path.write_text(one * count)
    tailer = Tailer(path)
    first = tailer.poll()
    assert first.more and len(first.events) < count
    second = tailer.poll()
    assert not second.more
    assert len(first.events) + len(second.events) == count
    assert not first.errors and not second.errors
