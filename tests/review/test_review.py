"""The review report: HTML + Markdown on a really redacted dataset, and its MLflow review run."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tunepipe import artifacts, tracking
from tunepipe.digest import pandas_digest
from tunepipe.governance import approval
from tunepipe.pii.stage import PiiSettings, redact_texts
from tunepipe.review.report import load_review_summary, write_review_report

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
    "clean": {"input_rows": 8, "kept": 7, "filtered": {"too_short": 1}},
    "dedup": {"input_rows": 7, "kept": 6, "exact_duplicates": 1, "near_duplicates": 0},
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
    result = write_review_report(mlflow_cfg, dataset, tmp_path / "r.html", tmp_path / "r.md", UPSTREAM)
    digest = artifacts.read_summary(dataset)["digest"]
    policy = approval.policy_version(mlflow_cfg)
    assert result["digest"] == digest and result["status"] == "pending" and result["policy_version"] == policy
    html, md = (tmp_path / "r.html").read_text(), (tmp_path / "r.md").read_text()
    for text in (html, md):
        assert digest in text and policy in text
        assert f"tunepipe approve {digest} --reviewer NAME --note TEXT" in text
        assert "malformed_json" in text and "too_short" in text and "CREDIT_CARD" in text
        assert not [v for v in RAW_PII if v in text]
        assert "data-card step of this Kubeflow run" in text
    assert html.count("data:image/png;base64,") == 3
    assert "&lt;PERSON&gt;" in html and "<PERSON>" not in html
    assert "| input rows | 10 |" in md and "| reviewed dataset | 6 |" in md
    assert "| CREDIT_CARD | placeholder | 1 |" in md
    assert "| /data/support.jsonl | 10 | 2 | - | - | - | - |" in md
    assert md.count("### Example") == 4

    client = tracking.client(mlflow_cfg)
    run = client.get_run(result["review_run_id"])
    assert run.info.run_name == f"review-{digest[:12]}"
    assert run.data.tags[approval.DIGEST_TAG] == digest
    assert run.data.tags[approval.STATUS_TAG] == "pending"
    assert run.data.tags[approval.POLICY_TAG] == policy
    assert run.data.metrics["rows"] == 6 and run.data.metrics["ingest.quarantine_reasons.malformed_json"] == 1
    assert run.data.params["digest"] == digest
    assert {a.path for a in client.list_artifacts(run.info.run_id, "report")} == {
        "report/review.html", "report/review.md", "report/review.json"}
    summary = load_review_summary(mlflow_cfg, run.info.run_id)
    assert summary["digest"] == digest and summary["report_files"]["md"] == str(tmp_path / "r.md")
    assert ["ingest", "malformed_json", 1] in summary["quarantine"]


PII_SUMMARY = {
    "actions": {"PERSON": {"placeholder": 3, "hash": 1}, "EMAIL_ADDRESS": {"drop": 2}},
    "per_source": {"/data/support.jsonl": {"rows": 8, "rows_with_pii": 4, "dropped": 2, "quarantined": 1}},
    "rai_flags": {"toxicity": 2, "secrets": 1, "blocked_terms": 0},
    "quarantine_reasons": {"secrets": 1},
    "dropped": 2, "quarantined": 1, "policy_version": "0123456789abcdef",
}


def test_report_uses_the_pii_stage_actions_flags_and_per_source_counts(mlflow_cfg, dataset, tmp_path):
    upstream = {**UPSTREAM, "pii": PII_SUMMARY}
    result = write_review_report(mlflow_cfg, dataset, tmp_path / "p.html", tmp_path / "p.md", upstream)
    assert result["policy_version"] == "0123456789abcdef"
    md, html = (tmp_path / "p.md").read_text(), (tmp_path / "p.html").read_text()
    assert "## PII by entity type and action" in md
    assert "| PERSON | placeholder | 3 |" in md and "| EMAIL_ADDRESS | drop | 2 |" in md
    assert "| /data/support.jsonl | 10 | 2 | 8 | 4 | 2 | 1 |" in md
    assert "| toxicity | 2 |" in md and "| secrets | 1 |" in md
    assert "| PII/RAI | quarantined: secrets | 1 |" in md and "| PII/RAI | dropped by policy | 2 |" in md
    assert "| dropped by PII/RAI policy | 2 |" in md
    assert html.count("data:image/png;base64,") == 4
    run = tracking.client(mlflow_cfg).get_run(result["review_run_id"])
    assert run.data.metrics["pii.action.PERSON.hash"] == 1 and run.data.metrics["rai.toxicity"] == 2
    assert run.data.tags[approval.POLICY_TAG] == "0123456789abcdef"


def test_report_records_the_launcher_and_four_eyes(mlflow_cfg, dataset, tmp_path):
    cfg = mlflow_cfg.model_copy(update={"approval": mlflow_cfg.approval.model_copy(
        update={"four_eyes": True, "launched_by": "bob"})})
    result = write_review_report(cfg, dataset, tmp_path / "f.html", tmp_path / "f.md", UPSTREAM)
    assert "bob (four eyes: another person must approve)" in (tmp_path / "f.md").read_text()
    tags = tracking.client(cfg).get_run(result["review_run_id"]).data.tags
    assert tags[approval.LAUNCHED_BY_TAG] == "bob" and tags[approval.FOUR_EYES_TAG] == "true"


def test_report_links_the_data_card_of_the_same_pipeline_run(mlflow_cfg, tmp_path, record):
    import mlflow

    from tunepipe import tracking

    data = redacted_dataset(tmp_path / "linked", RAW[3:], record, PiiSettings.from_config(mlflow_cfg))
    parent = tracking.start_pipeline_run(mlflow_cfg, "job-card-link")
    with tracking.stage_run(mlflow_cfg, "data_card", parent) as card_run:
        mlflow.set_tag("tunepipe.prepared_digest", "f" * 64)
        mlflow.log_text("<html>card</html>", "data_card/data_card.html")
    with tracking.stage_run(mlflow_cfg, "review", parent):
        result = write_review_report(mlflow_cfg, data, tmp_path / "l.html", tmp_path / "l.md", UPSTREAM)
    link = result["data_card"]
    assert link["mlflow_run_id"] == card_run.info.run_id
    assert link["uri"] == f"runs:/{card_run.info.run_id}/data_card/data_card.html"
    md = (tmp_path / "l.md").read_text()
    assert f"MLflow run {card_run.info.run_id}, artifact data_card/data_card.html" in md
    assert mlflow.artifacts.load_text(link["uri"]) == "<html>card</html>"


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


def test_review_list_and_show_in_the_terminal(mlflow_cfg, tmp_path, record):
    import yaml
    from typer.testing import CliRunner

    from tunepipe.cli import app

    data = redacted_dataset(tmp_path / "cli", RAW[:4], record, PiiSettings.from_config(mlflow_cfg))
    policy = approval.policy_version(mlflow_cfg)
    upstream = {**UPSTREAM, "pii": {**PII_SUMMARY, "policy_version": policy}}
    result = write_review_report(mlflow_cfg, data, tmp_path / "c.html", tmp_path / "c.md", upstream)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"data": {"paths": ["x"]}, "project": {"data_dir": mlflow_cfg.project.data_dir}}))
    runner, d = CliRunner(), result["digest"]

    approved = runner.invoke(app, ["approve", d[:12], "--reviewer", "alice", "--config", str(config)])
    assert f"approved {d} by alice under policy {policy}" in approved.output, approved.output
    listed = runner.invoke(app, ["review", "list", "--config", str(config)]).output
    assert next(line for line in listed.splitlines() if d[:12] in line).split("│")[2:4] == [" approved ", " 4    "]
    shown = runner.invoke(app, ["review", "show", d[:12], "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"policy     {policy}" in out and "rows       4 (3 with PII redacted)" in out
    assert "EMAIL_ADDRESS │ drop" in out and "toxicity" in out and "quarantined: secrets" in out
    assert f"{result['review_run_id']}/artifacts/report/review.html" in out and str(tmp_path / "c.md") in out
    assert "data card  the `card` (HTML)" in out
    assert not [v for v in RAW_PII if v in out]
