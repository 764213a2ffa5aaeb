"""Ingest: shapes mapped to the internal schema, every bad line quarantined with its reason and line."""

from __future__ import annotations

import gzip
import hashlib
import json

import pandas as pd
import pytest

from tunepipe import artifacts
from tunepipe.data_quality.ingest import expand_paths, field_names, ingest, list_uri
from tunepipe.errors import TunepipeError

ANSWER = "Hi Ada, open Settings > Security. — Northwind Support"
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reset MFA?"},
        {"role": "assistant", "content": ANSWER}]

# line number -> (item written, expected reason or None); line 5 is blank
MIXED = {
    1: ({"input": "How do I export data?", "output": ANSWER}, None),
    2: ({"prompt": "Where is invoice INV-1?", "completion": ANSWER}, None),
    3: ({"messages": CHAT}, None),
    4: ({"question": "How long do refunds take?", "contexts": ["Refunds take 5 days.", "SSO needs Okta."],
         "answer": ANSWER}, None),
    6: ('{"input": "How do I reset my pass', "malformed_json"),
    7: ("<html>502 Bad Gateway</html>", "malformed_json"),
    8: ({"input": "What is my limit?", "output": 42}, "wrong_type"),
    9: ({"question": "Is SSO included?", "contexts": ["SSO is on Business."]}, "missing_field"),
    10: ({"input": "   ", "output": ANSWER}, "empty_text"),
    11: ({"messages": [CHAT[2], CHAT[1]]}, "bad_chat_roles"),
    12: ({"ticket_id": 7, "body": "help"}, "unknown_shape"),
    13: (b'{"input": "caf\xc3\xa9 \xff", "output": "x"}', "invalid_utf8"),
    14: ([1, 2, 3], "wrong_type"),
    15: ({"question": "Rate limit?", "contexts": "Team: 600 per minute.", "answer": ANSWER}, None),
    16: ({"messages": [CHAT[1], {"role": "assistant", "content": 7}]}, "wrong_type"),
    17: ({"prompt": "Hello?", "completion": None}, "missing_field"),
    18: ({"prompt": "Hi", "completion": ANSWER, "extra": {"ticket": 1}}, None),
    19: ({"messages": CHAT[1:] + [{"role": "user", "content": "And SSO?"}, CHAT[2]]}, None),
    20: ("\ufeff" + json.dumps({"input": "Exported from Excel", "output": ANSWER}), None),
    21: ({"instruction": "Summarise the ticket.", "input": "Login fails after MFA.", "output": ANSWER}, None),
    22: ({"instruction": "Greet the customer.", "input": "", "output": ANSWER}, None),
    23: ({"instruction": "Say goodbye.", "output": ANSWER}, None),
    24: ({"instruction": "  ", "input": "Login fails.", "output": ANSWER}, "empty_text"),
    25: ({"instruction": "Summarise.", "input": 5, "output": ANSWER}, "wrong_type"),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, spark):
    """One ingest run over a file holding every shape and every kind of bad line."""
    from tunepipe.config import Config

    tmp = tmp_path_factory.mktemp("mixed")
    path = tmp / "mixed.jsonl"
    items = [MIXED[i][0] if i in MIXED else "" for i in range(1, max(MIXED) + 1)]
    with path.open("wb") as f:
        for item in items:
            text = item if isinstance(item, (bytes, str)) else json.dumps(item)
            f.write(text if isinstance(text, bytes) else text.encode())
            f.write(b"\n")
    cfg = Config.model_validate({"data": {"paths": [str(path)], "max_quarantine_rate": 1.0},
                                 "project": {"data_dir": str(tmp / "p")}})
    summary = ingest(cfg, str(tmp / "records"), str(tmp / "quarantine"))
    return {
        "path": str(path), "summary": summary, "lines": path.read_bytes().split(b"\n"),
        "records": artifacts.read_parquet_dir(tmp / "records").set_index("source_line"),
        "quarantine": artifacts.read_parquet_dir(tmp / "quarantine").set_index("source_line"),
        "quarantine_summary": artifacts.read_summary(tmp / "quarantine"),
    }


def test_quarantine_reason_and_line_for_each_bad_kind(mixed):
    q = mixed["quarantine"]
    expected = {line: reason for line, (_, reason) in MIXED.items() if reason}
    assert q["reason"].to_dict() == expected
    assert q.loc[8, "detail"] == "field 'output' is BIGINT, expected a string"
    assert q.loc[9, "detail"] == "missing field 'answer'"
    assert "assistant,user" in q.loc[11, "detail"]
    assert set(q["source"]) == {mixed["path"]}
    for line in (6, 7, 8, 11, 14):
        assert q.loc[line, "raw"] == mixed["lines"][line - 1].decode()
    assert "\ufffd" in q.loc[13, "raw"]
    assert q.loc[24, "detail"] == "'instruction' is empty"
    assert q.loc[25, "detail"] == "field 'input' is BIGINT, expected a string"


def test_shapes_map_to_internal_schema(mixed):
    r = mixed["records"]
    assert r["shape"].to_dict() == {1: "prompt_completion", 2: "prompt_completion", 3: "chat", 4: "rag",
                                    15: "rag", 18: "prompt_completion", 19: "chat", 20: "prompt_completion",
                                    21: "prompt_completion", 22: "prompt_completion", 23: "prompt_completion"}
    assert (r["response"] == ANSWER).all()
    assert r.loc[3, "prompt"] == "Reset MFA?" and r.loc[19, "prompt"] == "And SSO?"
    assert r.loc[20, "prompt"] == "Exported from Excel"
    assert r.loc[21, "prompt"] == "Summarise the ticket.\n\nLogin fails after MFA."
    assert r.loc[22, "prompt"] == "Greet the customer." and r.loc[23, "prompt"] == "Say goodbye."
    assert r.loc[4, "context"] == "Refunds take 5 days.\n\nSSO needs Okta."
    assert r.loc[15, "context"] == "Team: 600 per minute."
    assert r.loc[[1, 2, 3, 18, 19, 20, 21], "context"].isna().all()
    path = mixed["path"]
    assert r.loc[2, "record_id"] == hashlib.sha256(f"{path}:2".encode()).hexdigest()[:16]
    assert r["record_id"].is_unique


def test_summary_accounting(mixed):
    s = mixed["summary"]
    assert s["input_rows"] == len(MIXED) == s["valid_rows"] + s["quarantined"]
    assert s["blank_lines"] == 1
    assert sum(s["quarantine_reasons"].values()) == s["quarantined"] == len(mixed["quarantine"])
    reasons = {"bad_chat_roles": 1, "empty_text": 2, "invalid_utf8": 1, "malformed_json": 2, "missing_field": 2,
               "unknown_shape": 1, "wrong_type": 4}
    assert s["quarantine_reasons"] == reasons
    assert s["per_source"] == {mixed["path"]: {"input_rows": 24, "valid_rows": 11, "quarantined": 13,
                                               "quarantine_reasons": reasons}}
    assert s["skipped_files"] == [] and s["empty_files"] == []
    assert s["shapes"] == {"chat": 2, "prompt_completion": 7, "rag": 2}
    assert s["multi_turn_chats"] == 1
    written = dict(mixed["quarantine_summary"])
    assert "before PII redaction" in written.pop("sensitive")
    assert written == s


def test_line_numbers_survive_many_file_splits(spark, tmp_path, make_cfg, write_jsonl):
    """Small split size: each file is read as many splits, some lines straddle split borders."""
    a = write_jsonl(tmp_path / "in" / "a.jsonl", [{"input": f"q{i}", "output": "x"} for i in range(1, 301)])
    b = write_jsonl(tmp_path / "in" / "b.jsonl", ["", *[{"prompt": f"q{i}", "completion": "x"} for i in range(2, 121)]])
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1500")
    try:
        summary = ingest(make_cfg([tmp_path / "in"]), str(tmp_path / "r"), str(tmp_path / "q"))
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    r = artifacts.read_parquet_dir(tmp_path / "r")
    assert (r["prompt"] == "q" + r["source_line"].astype(str)).all()
    clean = {"quarantined": 0, "quarantine_reasons": {}}
    assert summary["per_source"] == {str(a): {"input_rows": 300, "valid_rows": 300, **clean},
                                     str(b): {"input_rows": 119, "valid_rows": 119, **clean}}
    assert summary["blank_lines"] == 1


def test_directory_with_parquet_and_csv(tmp_path, make_cfg, write_jsonl):
    data = tmp_path / "data dir"
    write_jsonl(data / "a.jsonl", [{"input": "q1", "output": "a1"}])
    write_jsonl(data / "_skipped.jsonl", ["garbage"])
    (data / "notes.md").write_text("not data")
    (data / "sub").mkdir()
    pd.DataFrame({"prompt": ["p1", "p2"], "completion": ["c1", None]}).to_parquet(data / "sub" / "b.parquet")
    pd.DataFrame({"question": ["q"], "contexts": ["ctx"], "answer": ["a"]}).to_csv(data / "c.csv", index=False)
    cfg = make_cfg([data], max_quarantine_rate=0.5)
    summary = ingest(cfg, str(tmp_path / "r"), str(tmp_path / "q"))
    r = artifacts.read_parquet_dir(tmp_path / "r").sort_values("prompt")
    assert list(r["prompt"]) == ["p1", "q", "q1"]
    assert list(r["shape"]) == ["prompt_completion", "rag", "prompt_completion"]
    q = artifacts.read_parquet_dir(tmp_path / "q")
    parquet = str(data / "sub" / "b.parquet")
    assert q[["source", "source_line", "reason"]].values.tolist() == [[parquet, 2, "missing_field"]]
    assert sorted(summary["per_source"]) == sorted([str(data / "a.jsonl"), str(data / "c.csv"), parquet])
    assert summary["skipped_files"] == [str(data / "notes.md")]


def test_missing_path_is_named(tmp_path, make_cfg):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(TunepipeError, match=f"data path {missing} does not exist"):
        ingest(make_cfg([missing]), str(tmp_path / "r"), str(tmp_path / "q"))


def test_empty_file_is_an_empty_dataset(tmp_path, make_cfg, write_jsonl):
    blank = write_jsonl(tmp_path / "blank.jsonl", ["", "   "])
    (tmp_path / "zero.jsonl").write_bytes(b"")
    with pytest.raises(TunepipeError, match=r"empty dataset: no records in .*blank.jsonl, .*zero.jsonl \(2 blank"):
        ingest(make_cfg([blank, tmp_path / "zero.jsonl"]), str(tmp_path / "r"), str(tmp_path / "q"))


def test_all_malformed_names_reasons_and_keeps_quarantine(tmp_path, make_cfg, write_jsonl):
    path = write_jsonl(tmp_path / "bad.jsonl", ["{oops", "not json", {"input": "q", "output": 1}])
    quarantine = tmp_path / "q"
    with pytest.raises(TunepipeError) as err:
        ingest(make_cfg([path]), str(tmp_path / "r"), str(quarantine))
    msg = str(err.value)
    assert "no valid records: all 3 input rows were quarantined" in msg
    assert "malformed_json 2, wrong_type 1" in msg and str(quarantine) in msg
    assert len(artifacts.read_parquet_dir(quarantine)) == 3
    assert not (tmp_path / "r").exists()


def test_quarantine_rate_above_limit(tmp_path, make_cfg, write_jsonl):
    rows = [{"input": f"q{i}", "output": "a"} for i in range(9)] + [{"input": "q", "output": ""}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(TunepipeError) as err:
        ingest(make_cfg([path], max_quarantine_rate=0.05), str(tmp_path / "r"), str(tmp_path / "q"))
    msg = str(err.value)
    assert "10.0% of input rows were quarantined (1 of 10)" in msg
    assert "data.max_quarantine_rate=0.05" in msg and "empty_text 1" in msg and str(tmp_path / "q") in msg
    assert f"Most quarantined: {path}: 1 of 10 (empty_text 1)" in msg
    assert len(artifacts.read_parquet_dir(tmp_path / "q")) == 1


def test_json_array_files(tmp_path, make_cfg, write_jsonl):
    """A .json file holding a top-level array: one row per element, source_line = element index."""
    data = tmp_path / "arrays"
    data.mkdir()
    elements = [{"prompt": "Where is my invoice?", "completion": ANSWER}, {"messages": CHAT}, 7,
                {"prompt": "Refund?"}, None, "just text", {"input": "Seventh?", "output": ANSWER}]
    (data / "a.json").write_text("\ufeff  \n" + json.dumps(elements, indent=2))
    with gzip.open(data / "b.json.gz", "wt") as f:
        json.dump([{"input": "Gzipped?", "output": ANSWER}], f)
    write_jsonl(data / "lines.json", [{"input": "Lines in a .json file", "output": ANSWER}, "{oops"])
    (data / "cut.json").write_text(json.dumps(elements[:2])[:-20])
    (data / "none.json").write_text("[]")
    (data / "latin1.json").write_bytes(b'[{"input": "caf\xe9?", "output": "x"}, {"input": "ok?", "output": "y"}]')
    summary = ingest(make_cfg([data], max_quarantine_rate=1.0), str(tmp_path / "r"), str(tmp_path / "q"))
    r = artifacts.read_parquet_dir(tmp_path / "r").set_index(["source", "source_line"])
    q = artifacts.read_parquet_dir(tmp_path / "q").set_index(["source", "source_line"])
    a, b, lines, cut, latin1 = (str(data / n) for n in ("a.json", "b.json.gz", "lines.json", "cut.json",
                                                         "latin1.json"))
    assert sorted(r.index) == [(a, 1), (a, 2), (a, 7), (b, 1), (latin1, 2), (lines, 1)]
    assert r.loc[(a, 2), "shape"] == "chat" and r.loc[(b, 1), "prompt"] == "Gzipped?"
    assert r.loc[(a, 1), "record_id"] == hashlib.sha256(f"{a}:1".encode()).hexdigest()[:16]
    assert q["reason"].to_dict() == {(a, 3): "wrong_type", (a, 4): "missing_field", (a, 5): "wrong_type",
                                     (a, 6): "malformed_json", (lines, 2): "malformed_json",
                                     (cut, 0): "malformed_json", (latin1, 1): "invalid_utf8"}
    assert q.loc[(a, 3), "detail"] == "record is BIGINT, expected a JSON object"
    assert q.loc[(a, 3), "raw"] == "7"
    assert q.loc[(cut, 0), "detail"].startswith("the whole file (")
    assert q.loc[(cut, 0), "raw"] == (data / "cut.json").read_text()
    assert summary["per_source"][a] == {"input_rows": 7, "valid_rows": 3, "quarantined": 4, "quarantine_reasons":
                                        {"malformed_json": 1, "missing_field": 1, "wrong_type": 2}}
    assert summary["input_rows"] == summary["valid_rows"] + summary["quarantined"] == 7 + 1 + 2 + 1 + 2
    assert summary["per_source"][cut]["quarantined"] == 1 and str(data / "none.json") not in summary["per_source"]


def test_field_map_reads_other_names(tmp_path, make_cfg, write_jsonl):
    path = write_jsonl(tmp_path / "renamed.jsonl", [
        {"query": "Where is my invoice?", "reply": ANSWER},
        {"conversation": [{"from": "user", "value": "Reset MFA?"}, {"from": "assistant", "value": ANSWER}]},
        {"query": "Limit?", "reply": 42},
        {"conversation": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
        {"prompt": "Not mapped any more", "completion": ANSWER},
    ])
    cfg = make_cfg([path], max_quarantine_rate=1.0,
                   field_map={"prompt": "query", "completion": "reply", "messages": "conversation",
                              "role": "from", "content": "value"})
    summary = ingest(cfg, str(tmp_path / "r"), str(tmp_path / "q"))
    r = artifacts.read_parquet_dir(tmp_path / "r").set_index("source_line")
    q = artifacts.read_parquet_dir(tmp_path / "q").set_index("source_line")
    assert r[["shape", "prompt", "response"]].values.tolist() == [
        ["prompt_completion", "Where is my invoice?", ANSWER], ["chat", "Reset MFA?", ANSWER]]
    assert q["detail"].to_dict() == {
        3: "field 'reply' is BIGINT, expected a string",
        4: "every message needs a string 'from' and a string 'value'",
        5: "keys OBJECT<completion: STRING, prompt: STRING> match no shape (conversation, question/answer/"
           "contexts, instruction, input/output, query/reply)"}
    assert summary["quarantine_reasons"] == {"unknown_shape": 1, "wrong_type": 2}


@pytest.mark.parametrize("field_map, message", [
    ({"answer_text": "a"}, r"unknown field\(s\) answer_text; the known fields are instruction, input"),
    ({"prompt": "it's"}, r"names \[\"it's\"\] cannot be used"),
    ({"prompt": "input"}, "makes 'input' and 'prompt' both read 'input'"),
])
def test_field_map_mistakes_are_named(field_map, message):
    with pytest.raises(TunepipeError, match=message):
        field_names(field_map)


def test_object_store_uris_pass_through():
    uris = ["s3a://bucket/raw/support.jsonl.gz", "gs://bucket/raw/part-*.parquet",
            "abfss://raw@account.dfs.core.windows.net/tickets.csv", "s3://bucket/raw/export.json"]
    listed = {"gs://bucket/prefix/": [("gs://bucket/prefix/a.jsonl", 10), ("gs://bucket/prefix/b.xlsx", 5),
                                      ("gs://bucket/prefix/c.parquet", 0)]}
    inputs = expand_paths(uris + ["gs://bucket/prefix/"], list_uri=listed.__getitem__)
    assert inputs.files == {uris[0]: "jsonl", uris[1]: "parquet", uris[2]: "csv", uris[3]: "json",
                            "gs://bucket/prefix/a.jsonl": "jsonl"}
    assert inputs.skipped == ["gs://bucket/prefix/b.xlsx"] and inputs.empty == ["gs://bucket/prefix/c.parquet"]


def test_uri_directories_are_listed_by_spark(spark, tmp_path, write_jsonl):
    write_jsonl(tmp_path / "d" / "a.jsonl", [{"input": "q", "output": "a"}])
    write_jsonl(tmp_path / "d" / "_SUCCESS", [])
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "b.csv").write_text("prompt,completion\np,c\n")
    listed = list_uri(spark, f"file://{tmp_path / 'd'}")
    assert [(p.rsplit("/", 2)[-2:], n > 0) for p, n in listed] == [(["d", "a.jsonl"], True),
                                                                   (["sub", "b.csv"], True)]
    with pytest.raises(TunepipeError, match="cannot list data path file:///nowhere.*spark.conf"):
        list_uri(spark, "file:///nowhere")
