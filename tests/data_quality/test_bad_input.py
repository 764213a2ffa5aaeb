"""Ingest over hostile input: every bad record gets a reason a user can act on, and rows add up per source.

Each test checks the user-visible reason or error AND that, per source, input_rows = valid + quarantined.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
import time

import pandas as pd
import pytest

from tunepipe import artifacts
from tunepipe.data_quality.ingest import discovery, readers
from tunepipe.data_quality.ingest import ingest
from tunepipe.errors import TunepipeError

GOOD = {"input": "How do I export my data?", "output": "Open Settings > Export."}


def run(make_cfg, tmp_path, paths, **data) -> dict:
    data.setdefault("max_quarantine_rate", 1.0)
    summary = ingest(make_cfg(paths, **data), str(tmp_path / "r"), str(tmp_path / "q"))
    return {"summary": summary,
            "records": artifacts.read_parquet_dir(tmp_path / "r"),
            "quarantine": artifacts.read_parquet_dir(tmp_path / "q")}


def assert_adds_up(out: dict) -> None:
    s, q, r = out["summary"], out["quarantine"], out["records"]
    assert s["input_rows"] == s["valid_rows"] + s["quarantined"]
    assert (s["valid_rows"], s["quarantined"]) == (len(r), len(q))
    assert sum(s["quarantine_reasons"].values()) == s["quarantined"]
    for src, per in s["per_source"].items():
        assert per["input_rows"] == per["valid_rows"] + per["quarantined"], src
        assert per["quarantined"] == sum(per["quarantine_reasons"].values()) == (q["source"] == src).sum()
        assert per["valid_rows"] == (r["source"] == src).sum()
        assert per["quarantine_reasons"] == q[q["source"] == src]["reason"].value_counts().to_dict()


def reasons_by_line(q, source) -> dict:
    rows = q[q["source"] == str(source)]
    return dict(zip(rows["source_line"], rows["reason"]))


def test_truncated_files(tmp_path, make_cfg):
    data = tmp_path / "in"
    data.mkdir()
    lines = [json.dumps({**GOOD, "output": f"answer {i}"}) for i in range(4)]
    (data / "a.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:25])
    (data / "b.json").write_text(json.dumps([GOOD, GOOD, GOOD])[:-30])
    (data / "c.csv").write_text('prompt,completion\n"p1","c1"\np2,c2\np3')
    out = run(make_cfg, tmp_path, [data])
    q, s = out["quarantine"], out["summary"]
    assert reasons_by_line(q, data / "a.jsonl") == {5: "malformed_json"}
    assert reasons_by_line(q, data / "b.json") == {0: "malformed_json"}
    assert "the whole file" in q[q["source"] == str(data / "b.json")]["detail"].item()
    assert reasons_by_line(q, data / "c.csv") == {3: "malformed_csv"}
    assert q[q["source"] == str(data / "c.csv")]["detail"].item() == "row has 1 fields, the header has 2 columns"
    assert s["per_source"][str(data / "a.jsonl")]["valid_rows"] == 4
    assert s["per_source"][str(data / "c.csv")]["valid_rows"] == 2
    assert_adds_up(out)


def test_cut_off_gzip_is_a_clear_error(tmp_path, make_cfg):
    body = "".join(json.dumps({**GOOD, "output": f"answer {i} " * 20}) + "\n" for i in range(3000))
    blob = gzip.compress(body.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(TunepipeError, match=rf"cannot read {re.escape(str(path))}: EOFException: "
                                            r"Unexpected end of input stream\. The file is corrupt, truncated"):
        run(make_cfg, tmp_path, [path])


def test_garbage_parquet_is_a_clear_error(tmp_path, make_cfg):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"input": ["q"] * 50, "output": ["a"] * 50}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TunepipeError, match=rf"cannot read {re.escape(str(path))}: .*is not a Parquet file"):
        run(make_cfg, tmp_path, [path])


def test_binary_garbage(tmp_path, make_cfg):
    rng = random.Random(3)
    garbage = b"\x00\xff\xfe{\"input\": \x00}\n\xc3\x28\n" + rng.randbytes(30_000)
    head = b"".join(json.dumps({**GOOD, "output": f"a{i}"}).encode() + b"\n" for i in range(3))
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(head + garbage)
    out = run(make_cfg, tmp_path, [path])
    physical = re.split(rb"\r\n|\r|\n", head + garbage)
    physical = physical[:-1] if physical[-1] == b"" else physical
    s, q = out["summary"], out["quarantine"]
    assert s["blank_lines"] == sum(1 for line in physical if line.strip(b" ") == b"")
    assert s["input_rows"] + s["blank_lines"] == len(physical)
    assert sorted(out["records"]["source_line"]) == [1, 2, 3]
    assert set(q["reason"]) <= {"invalid_utf8", "malformed_json", "wrong_type"}
    assert {"invalid_utf8", "malformed_json"} <= set(q["reason"])
    assert q.set_index("source_line").loc[4, "reason"] == "invalid_utf8"
    assert q["raw"].map(lambda raw: len(raw) <= 2000).all()
    assert_adds_up(out)


def test_50mb_single_line_is_too_long(tmp_path, make_cfg):
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        f.write(json.dumps(GOOD) + "\n")
        f.write('{"input": "' + "x" * (50 * 2**20) + '", "output": "a"}\n')
        f.write(json.dumps(GOOD) + "\n")
    start = time.perf_counter()
    out = run(make_cfg, tmp_path, [path])
    seconds = time.perf_counter() - start
    q = out["quarantine"]
    assert q[["source_line", "reason"]].values.tolist() == [[2, "too_long"]]
    assert q["detail"].item() == f"record has {50 * 2**20 + 28} characters (limit 1000000)"
    assert len(q["raw"].item()) == 2000
    assert sorted(out["records"]["source_line"]) == [1, 3]
    assert seconds < 120, f"50 MB line took {seconds:.0f} s"
    assert_adds_up(out)


BASES = {
    "input/output": {"input": "q", "output": "a"},
    "prompt/completion": {"prompt": "q", "completion": "a"},
    "alpaca": {"instruction": "q", "input": "extra", "output": "a"},
    "rag": {"question": "q", "contexts": ["c1", "c2"], "answer": "a"},
    "chat": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
}
BAD_VALUES = {"number": 42, "float": 1.5, "list": [1, 2], "object": {"k": "v"}, "null": None, "bool": True}


def wrong_type_cases() -> list[tuple[str, str, object, str | None, str]]:
    """(shape, field, bad value, expected reason or None, text the detail must hold) for every field."""
    cases = []
    for shape, base in BASES.items():
        for fld in base:
            for value in BAD_VALUES.values():
                record = {**base, fld: value}
                if value is None:
                    reason, detail = ("missing_field", f"missing field '{fld}'")
                    if shape == "alpaca" and fld == "input":
                        reason, detail = None, ""
                elif fld == "messages" and isinstance(value, list):
                    reason, detail = "wrong_type", "every message needs a string 'role' and a string 'content'"
                else:
                    reason, detail = "wrong_type", f"field '{fld}' is"
                cases.append((shape, fld, record, reason, detail))
        if shape == "chat":
            for key in ("role", "content"):
                for value in BAD_VALUES.values():
                    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", key: value}]
                    cases.append((shape, f"messages[].{key}", {"messages": turns}, "wrong_type",
                                  "every message needs a string 'role' and a string 'content'"))
    for value in BAD_VALUES.values():
        if isinstance(value, dict):
            cases.append(("record", "record", value, "unknown_shape", "match no shape"))
        else:
            cases.append(("record", "record", value, "wrong_type", "expected a JSON object"))
    return cases


def test_wrong_types_in_every_field(tmp_path, make_cfg, write_jsonl):
    cases = wrong_type_cases()
    path = write_jsonl(tmp_path / "types.jsonl", [json.dumps(record) for _, _, record, _, _ in cases])
    out = run(make_cfg, tmp_path, [path])
    q = out["quarantine"].set_index("source_line")
    for line, (shape, fld, record, reason, detail) in enumerate(cases, start=1):
        if reason is None:
            assert line not in q.index, (shape, fld, record)
            continue
        assert q.loc[line, "reason"] == reason, (shape, fld, record, q.loc[line, "detail"])
        assert detail in q.loc[line, "detail"], (shape, fld, record, q.loc[line, "detail"])
    assert out["summary"]["valid_rows"] == sum(1 for c in cases if c[3] is None)
    assert_adds_up(out)


def test_csv_with_ragged_rows(tmp_path, make_cfg):
    path = tmp_path / "tickets.csv"
    path.write_text(
        "prompt,completion\n"
        '"Where is the invoice, please?","In Billing, under ""Invoices""."\n'
        "too,many,columns,here\n"
        "only one column\n"
        '"multi\nline prompt",fine\n'
        "p5,c5,\n"
    )
    out = run(make_cfg, tmp_path, [path])
    q = out["quarantine"].set_index("source_line")
    assert q["reason"].to_dict() == {2: "malformed_csv", 3: "malformed_csv", 5: "malformed_csv"}
    assert q.loc[2, "detail"] == "row has 4 fields, the header has 2 columns"
    assert q.loc[2, "raw"] == "too,many,columns,here"
    assert q.loc[3, "detail"] == "row has 1 fields, the header has 2 columns"
    assert q.loc[5, "detail"] == "row has 3 fields, the header has 2 columns"
    r = out["records"].set_index("source_line")
    assert r.loc[1, "response"] == 'In Billing, under "Invoices".'
    assert r.loc[4, "prompt"] == "multi\nline prompt"
    assert_adds_up(out)


def test_directory_of_only_empty_files(tmp_path, make_cfg):
    data = tmp_path / "empty"
    data.mkdir()
    for name in ("a.jsonl", "b.json", "c.csv", "d.parquet", "e.jsonl.gz"):
        (data / name).write_bytes(b"")
    with pytest.raises(TunepipeError, match=r"empty dataset: no records in .*empty \(0 blank lines, 5 empty files"):
        run(make_cfg, tmp_path, [data])


def test_directory_with_mixed_formats(tmp_path, make_cfg, caplog):
    data = tmp_path / "mixed"
    (data / "nested").mkdir(parents=True)
    (data / "a.jsonl").write_text(json.dumps(GOOD) + "\n{broken\n")
    (data / "b.json").write_text(json.dumps([{"prompt": "p", "completion": "c"}, {"prompt": "p"}]))
    pd.DataFrame({"instruction": ["i1", "i2"], "input": ["", "ctx"], "output": ["o1", "o2"]}).to_parquet(
        data / "nested" / "c.parquet")
    chats = [[{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}], [{"role": "user"}]]
    pd.DataFrame({"messages": chats}).to_parquet(data / "nested" / "chat.parquet")
    with gzip.open(data / "d.csv.gz", "wt") as f:
        f.write("question,contexts,answer\nq,ctx,a\nq2,,a2\n")
    (data / "notes.txt").write_text("not data")
    (data / "sheet.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (data / "zero.jsonl").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger=discovery.__name__):
        out = run(make_cfg, tmp_path, [data])
    s = out["summary"]
    skipped = [str(data / "notes.txt"), str(data / "sheet.xlsx")]
    assert s["skipped_files"] == skipped and s["empty_files"] == [str(data / "zero.jsonl")]
    assert any("skipped 2 file(s) of an unsupported type" in m and all(p in m for p in skipped)
               for m in caplog.messages)
    assert {src: per["quarantine_reasons"] for src, per in s["per_source"].items()} == {
        str(data / "a.jsonl"): {"malformed_json": 1},
        str(data / "b.json"): {"missing_field": 1},
        str(data / "nested" / "c.parquet"): {},
        str(data / "nested" / "chat.parquet"): {"wrong_type": 1},
        str(data / "d.csv.gz"): {"missing_field": 1},
    }
    r = out["records"].set_index(["source", "source_line"])["prompt"]
    assert r[(str(data / "nested" / "c.parquet"), 2)] == "i2\n\nctx"
    assert r[(str(data / "nested" / "chat.parquet"), 1)] == "u" and r[(str(data / "d.csv.gz"), 1)] == "q"
    assert r[(str(data / "b.json"), 1)] == "p"
    assert_adds_up(out)


def test_json_array_file_over_the_size_limit_is_a_clear_error(tmp_path, make_cfg, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([GOOD] * 100))
    monkeypatch.setattr(readers, "MAX_ARRAY_FILE_BYTES", 1000)
    with pytest.raises(TunepipeError, match=r"big.json is a JSON array file of .* Convert it to JSON Lines"):
        run(make_cfg, tmp_path, [path])
