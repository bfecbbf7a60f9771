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


def test_lines_may_end_with_cr_lf_or_a_lone_cr(tmp_path):
    path = tmp_path / "events.jsonl"
    texts = [line(epoch=n, path=f"{n}.npz").rstrip("\n") for n in range(4)]
    path.write_bytes(f"{texts[0]}\r{texts[1]}\r\n{texts[2]}\n{texts[3]}\r".encode())
    batch = Tailer(path).poll()
    assert [e["epoch"] for e in batch.events] == [0, 1, 2, 3] and not batch.errors


def test_a_cr_only_log_shows_every_event(tmp_path):
    path = tmp_path / "events.jsonl"
    from tests.tui.conftest import RECORDED

    path.write_bytes(RECORDED.read_bytes().replace(b"\n", b"\r"))
    batch = Tailer(path).poll()
    assert len(batch.events) == len(RECORDED.read_text().splitlines()) and not batch.errors


def test_a_cr_lf_split_between_polls_counts_as_one_line_end(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(epoch=0, path="a").rstrip("\n").encode() + b"\r")
    tailer = Tailer(path)
    assert [e["epoch"] for e in tailer.poll().events] == [0]
    assert not tailer.has_partial_line
    with open(path, "ab") as f:
        f.write(b"\n{bad\r\n" + line(epoch=1, path="b").encode())
    batch = tailer.poll()
    assert [e["epoch"] for e in batch.events] == [1]
    assert [err.line for err in batch.errors] == [2], "the split \\r\\n is no empty line"


def test_an_overlong_line_is_reported_once_and_skipped(tmp_path, monkeypatch):
    from tui import tailer as tailer_lib

    assert tailer_lib.MAX_LINE_BYTES == 16 << 20
    monkeypatch.setattr(tailer_lib, "MAX_LINE_BYTES", 100)
    path = tmp_path / "events.jsonl"
    path.write_text(line(epoch=0, path="a") + "x" * 150)
    tailer = Tailer(path)
    first = tailer.poll()
    assert [e["epoch"] for e in first.events] == [0]
    assert [err.line for err in first.errors] == [2] and "longer than" in first.errors[0].message
    assert tailer.has_partial_line and len(tailer._pending) == 0, "not buffered"
    with open(path, "a") as f:
        f.write("x" * 150)  # still the same line: not reported again
    assert not tailer.poll().errors
    with open(path, "a") as f:
        f.write("x" * 50 + "\n" + line(epoch=2, path="c") + "{bad\n")
    last = tailer.poll()
    assert [e["epoch"] for e in last.events] == [2]
    assert [err.line for err in last.errors] == [4]
    assert not tailer.has_partial_line


def test_a_decoder_crash_costs_one_line_not_the_follower(tmp_path, monkeypatch):
    from tui import tailer as tailer_lib

    real = events.decode

    def crashing(raw):
        if b'"epoch":1,' in raw:
            raise RuntimeError("boom")
        return real(raw)

    monkeypatch.setattr(tailer_lib.events_lib, "decode", crashing)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(line(epoch=n, path="a") for n in range(3)))
    batch = Tailer(path).poll()
    assert [e["epoch"] for e in batch.events] == [0, 2]
    assert [(e.line, e.message) for e in batch.errors] == [(2, "RuntimeError: boom")]


def test_found_examples_are_skipped_lines_not_exceptions(tmp_path):
    path = tmp_path / "events.jsonl"
    bad = [b'{"v":1,"kind":["step"],"time":1}', b'{"v":1,"kind":"step","time":' + b"9" * 5000
           + b"}", b"[" * 50_000, b'{"v":true,"kind":"checkpoint","time":1,"epoch":0,"path":"a"}',
           b'{"v":1,"kind":"checkpoint","time":1,"epoch":0,"path":"\xff"}', b"\x00" * 10]
    path.write_bytes(b"\n".join(bad) + b"\n" + line().encode())
    batch = Tailer(path).poll()
    assert [e.kind for e in batch.events] == ["checkpoint"]
    assert [err.line for err in batch.errors] == [1, 2, 3, 4, 5, 6]


def test_an_unreadable_log_is_reported_once(tmp_path):
    path = tmp_path / "events.jsonl"
    path.mkdir()  # open() fails: a directory
    tailer = Tailer(path)
    first = tailer.poll()
    assert [err.line for err in first.errors] == [0] and "cannot read" in first.errors[0].message
    assert not tailer.poll().errors
