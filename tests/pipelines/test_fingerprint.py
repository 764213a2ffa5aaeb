"""The local run's data fingerprint follows the files' bytes, never their times."""

from __future__ import annotations

import os

from tunepipe.pipelines.local import data_fingerprint


def test_fingerprint_follows_content_not_file_times(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
    first = data_fingerprint([str(data)])
    os.utime(data / "a.jsonl", (1, 1))
    assert data_fingerprint([str(data)]) == first
    stat = (data / "a.jsonl").stat()
    (data / "a.jsonl").write_text('{"prompt": "p", "completion": "C"}\n')
    os.utime(data / "a.jsonl", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data_fingerprint([str(data)]) != first


def test_fingerprint_sees_added_and_missing_files(tmp_path):
    (tmp_path / "a.jsonl").write_text("x\n")
    first = data_fingerprint([str(tmp_path)])
    (tmp_path / "b.jsonl").write_text("y\n")
    assert data_fingerprint([str(tmp_path)]) != first
    assert data_fingerprint([str(tmp_path / "gone.jsonl")]) != data_fingerprint([str(tmp_path / "other.jsonl")])
