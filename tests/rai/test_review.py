"""The review report: HTML + Markdown on a really redacted dataset, and its MLflow review run."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tunepipe import artifacts
from tunepipe.digest import pandas_digest
from tunepipe.rai import approval
from tunepipe.rai.pii import PiiSettings, redact_texts
from tunepipe.rai.review import write_review_report

RAW = [
    ("Hi, I'm Maria Garcia. My card 4111 1111 1111 1111 was charged twice.", "Hi Maria, we refunded the duplicate charge.", None),
    ("Please email the invoice to tom.baker@example.com", "Done, it is on its way.", None),
    ("Our server 192.168.10.25 gets HTTP 429 errors", "Limits are per workspace per minute.", "Rate limits: Team 600 requests per minute."),
    ("How do I export my data?", "Open Settings and choose Export.", None),
    ("Call me back on (212) 555-0143, this is Kevin Walsh", "We will call you today.", None),
    ("What plans do you offer?", "Starter, Team and Enterprise.", None),
]
RAW_PII = ["Maria Garcia", "Maria", "4111 1111 1111 1111", "tom.baker@example.com", "192.168.10.25", "555-0143", "Kevin Walsh"]
UPSTREAM = {
    "ingest": {
        "input_rows": 10, "valid_rows": 8, "quarantined": 2, "blank_lines": 1,
        "quarantine_reasons": {"malformed_json": 1, "missing_field": 1},
        "per_source": {"/data/support.jsonl": {"input_rows": 10, "valid_rows": 8, "quarantined": 2}},
    },
    "clean": {"input_rows": 8, "kept": 6, "filtered": {"too_short": 1}, "exact_duplicates": 1},
}


def redacted_dataset(directory, raw_rows, record, settings: PiiSettings, summary: bool = True):
    """What the PII stage writes, built in-process with the real Presidio engine."""
    df = pd.DataFrame([record(i, p, r, c) for i, (p, r, c) in enumerate(raw_rows)])
    found = [set() for _ in range(len(df))]
    for col in ("prompt", "context", "response"):
        df[col], col_found = redact_texts(df[col].tolist(), settings)
        found = [a | b for a, b in zip(found, col_found)]
    df["pii_entities"] = [",".join(sorted(s)) for s in found]
    directory.mkdir(parents=True, exist_ok=True)
    df.to_parquet(directory / "part-00000.parquet", index=False)
    if summary:
        entities = pd.Series([t for s in found for t in s]).value_counts().to_dict()
        artifacts.write_summary(directory, {
            "rows": len(df), "rows_with_pii": sum(bool(s) for s in found),
            "entities": {k: int(v) for k, v in entities.items()}, "digest": pandas_digest(df),
        })
    return directory


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, record, mlflow_cfg):
    return redacted_dataset(tmp_path_factory.mktemp("redacted"), RAW, record, PiiSettings.from_config(mlflow_cfg))


def test_report_shows_counts_commands_and_only_redacted_text(mlflow_cfg, dataset, tmp_path):
    from mlflow import MlflowClient

    result = write_review_report(mlflow_cfg, dataset, tmp_path / "r.html", tmp_path / "r.md", UPSTREAM)
    digest = artifacts.read_summary(dataset)["digest"]
    assert result["digest"] == digest and result["status"] == "pending"
    html, md = (tmp_path / "r.html").read_text(), (tmp_path / "r.md").read_text()
    for text in (html, md):
        assert digest in text
        assert f"tunepipe approve {digest} --reviewer NAME --note TEXT" in text
        assert "malformed_json" in text and "too_short" in text and "CREDIT_CARD" in text
        assert not [v for v in RAW_PII if v in text]
    assert html.count("data:image/png;base64,") == 2
    assert "&lt;PERSON&gt;" in html and "<PERSON>" not in html
    assert "| input rows | 10 |" in md and "| reviewed dataset | 6 |" in md
    assert md.count("### Example") == 4

    client = MlflowClient()
    run = client.get_run(result["review_run_id"])
    assert run.info.run_name == f"review-{digest[:12]}"
    assert run.data.tags[approval.DIGEST_TAG] == digest
    assert run.data.tags[approval.STATUS_TAG] == "pending"
    assert run.data.metrics["rows"] == 6 and run.data.metrics["ingest.quarantine_reasons.malformed_json"] == 1
    assert run.data.params["digest"] == digest
    assert {a.path for a in client.list_artifacts(run.info.run_id, "report")} == {"report/review.html", "report/review.md"}


def test_report_reuses_the_run_and_keeps_the_decision(mlflow_cfg, tmp_path, record):
    data = redacted_dataset(tmp_path / "d", RAW[:2], record, PiiSettings.from_config(mlflow_cfg))
    first = write_review_report(mlflow_cfg, data, tmp_path / "a.html", tmp_path / "a.md", {})
    approval.approve(mlflow_cfg, first["digest"], "alice", "looked at the examples")
    again = write_review_report(mlflow_cfg, data, tmp_path / "b.html", tmp_path / "b.md", UPSTREAM)
    assert again["review_run_id"] == first["review_run_id"] and again["status"] == "approved"
    assert "APPROVED by alice" in (tmp_path / "b.md").read_text()
    assert "Summaries not available for: ingest, clean." in (tmp_path / "a.md").read_text()
    assert approval.approval_status(mlflow_cfg, first["digest"])["status"] == "approved"


def test_report_computes_the_digest_when_the_summary_is_missing(mlflow_cfg, tmp_path, dataset):
    data = tmp_path / "copy"
    shutil.copytree(dataset, data)
    (data / artifacts.SUMMARY_FILE).unlink()
    result = write_review_report(mlflow_cfg, data, tmp_path / "c.html", tmp_path / "c.md", {})
    assert result["digest"] == pandas_digest(artifacts.read_parquet_dir(dataset))
