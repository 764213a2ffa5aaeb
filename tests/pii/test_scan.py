"""`tunepipe pii scan` on a JSONL file full of bad lines: one output line per input line, in order."""

from __future__ import annotations

import io
import json

from typer.testing import CliRunner

from tunepipe.cli import app
from tunepipe.pii.detect import PiiSettings
from tunepipe.pii.scan import scan

LINES = [
    json.dumps({"id": 1, "body": "Hi, I'm John Smith, email john.smith@example.com, card 4111 1111 1111 1111."}),
    "{not json",
    json.dumps({"id": 3, "title": "no body"}),
    json.dumps({"id": 4, "body": 42}),
    "",
    json.dumps(["a", "list"]),
    json.dumps({"id": 7, "body": None}),
    json.dumps({"id": 8, "body": "How do I reset my password?"}),
    json.dumps({"id": 9, "meta": {"body": "call me at (212) 555-0143"}}),
    json.dumps({"id": 10, "body": "x" * 1200}),
]
FRENCH = json.dumps({"body": "merci, écrivez à zoé@example.fr 🎉"}).encode()
RAW = "\n".join(LINES).encode() + b"\n\xff\xfe not utf-8\n" + FRENCH


def results(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_scan_writes_one_line_per_input_line_in_order():
    out = io.StringIO()
    summary = scan(io.BytesIO(RAW), "body", out, PiiSettings(max_text_chars=1000), batch_lines=4)
    got = results(out.getvalue())
    assert [r["line"] for r in got] == list(range(1, 13))
    assert summary.lines == 12 and summary.errors == 9 and summary.with_pii == 2
    first = got[0]
    assert first["redacted"] == "Hi, I'm <PERSON>, email <EMAIL_ADDRESS>, card <CREDIT_CARD>."
    text = json.loads(LINES[0])["body"]
    assert [(s["entity_type"], text[s["start"]:s["end"]]) for s in first["spans"]] == [
        ("PERSON", "John Smith"), ("EMAIL_ADDRESS", "john.smith@example.com"), ("CREDIT_CARD", "4111 1111 1111 1111")]
    assert all(0 < s["score"] <= 1 for s in first["spans"])
    errors = {r["line"]: r["error"] for r in got if "error" in r}
    assert errors == {
        2: "not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        3: "no field 'body'",
        4: "field 'body' is int, not a string",
        5: "blank line",
        6: "not a JSON object (a list)",
        7: "field 'body' is null, not a string",
        9: "no field 'body'",
        10: "text of 1200 characters is longer than pii.max_text_chars (1000)",
        11: "not UTF-8 (invalid start byte at byte 0)",
    }
    assert got[7] == {"line": 8, "spans": [], "redacted": "How do I reset my password?"}
    assert got[11]["redacted"] == "merci, écrivez à <EMAIL_ADDRESS> 🎉"


def test_scan_reads_dotted_nested_fields():
    out = io.StringIO()
    scan(io.BytesIO(LINES[8].encode()), "meta.body", out, PiiSettings.default())
    phone = {"start": 11, "end": 25, "entity_type": "PHONE_NUMBER", "score": 0.85}
    assert results(out.getvalue()) == [{"line": 1, "spans": [phone], "redacted": "call me at <PHONE_NUMBER>"}]


def test_cli_scans_to_a_file_or_stdout_with_config_overrides(tmp_path):
    src = tmp_path / "tickets.jsonl"
    src.write_bytes(RAW)
    out = tmp_path / "scan.jsonl"
    runner = CliRunner()
    done = runner.invoke(app, ["pii", "scan", str(src), "--text-field", "body", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert len(results(out.read_text())) == 12
    assert "12 lines, 2 with PII" in done.output and "8 errors" in done.output
    only_email = runner.invoke(app, ["pii", "scan", str(src), "-f", "body", "--set", "pii.entities=[EMAIL_ADDRESS]"])
    assert only_email.exit_code == 0, only_email.output
    first = json.loads(only_email.stdout.splitlines()[0])
    assert {s["entity_type"] for s in first["spans"]} == {"EMAIL_ADDRESS"}


def test_cli_says_what_is_wrong_with_its_arguments(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["pii", "scan", str(tmp_path / "nope.jsonl"), "-f", "body"])
    assert missing.exit_code == 1 and "not found" in missing.output
    src = tmp_path / "a.jsonl"
    src.write_text("{}\n")
    bad = runner.invoke(app, ["pii", "scan", str(src), "-f", "body", "--set", "pii.entities=[EMAIL_ADRESS]"])
    assert bad.exit_code == 1 and "EMAIL_ADRESS" in bad.output


def test_a_text_detection_fails_on_gets_an_error_line(monkeypatch):
    from tunepipe.pii import scan as scan_module

    real = scan_module.find_spans

    def fragile(texts, settings):
        if any("boom" in t for t in texts):
            raise RuntimeError("recognizer crashed")
        return real(texts, settings)

    monkeypatch.setattr(scan_module, "find_spans", fragile)
    out = io.StringIO()
    lines = [json.dumps({"body": t}) for t in ("mail ann@example.com", "boom", "nothing")]
    summary = scan(io.BytesIO("\n".join(lines).encode()), "body", out, PiiSettings.default())
    got = results(out.getvalue())
    assert got[1] == {"line": 2, "error": "detection failed (RuntimeError: recognizer crashed)"}
    assert got[0]["redacted"] == "mail <EMAIL_ADDRESS>" and got[2]["redacted"] == "nothing"
    assert summary.errors == 1
