"""Approvals bound to a dataset digest, recorded in MLflow (SQLite in a temp dir), and the gate."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.rai import approval


def digest_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def decisions(cfg, digest: str) -> list[dict]:
    """The decision records logged on the digest's review run, oldest first."""
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    run_id = approval.approval_status(cfg, digest)["review_run_id"]
    files = sorted(a.path for a in MlflowClient().list_artifacts(run_id, "decisions"))
    return [json.loads(Path(download_artifacts(run_id=run_id, artifact_path=f)).read_text()) for f in files]


def with_mode(cfg, **approval_settings):
    return cfg.model_copy(update={"approval": cfg.approval.model_copy(update=approval_settings)})


def test_approve_then_reject_records_tags_and_history(mlflow_cfg):
    d = digest_of("approve-then-reject")
    assert approval.approval_status(mlflow_cfg, d) is None
    ok = approval.approve(mlflow_cfg, d, "alice", "checked 20 examples")
    status = approval.approval_status(mlflow_cfg, d)
    assert status["status"] == "approved" and status["reviewer"] == "alice"
    assert status["note"] == "checked 20 examples" and status["time"] == ok["time"]
    assert status["time"].endswith("+00:00")
    assert approval.require_approved(mlflow_cfg, d)["reviewer"] == "alice"

    approval.reject(mlflow_cfg, d, "bob", "emails left in the context column")
    status = approval.approval_status(mlflow_cfg, d)
    assert status["status"] == "rejected" and status["review_run_id"] == ok["review_run_id"]
    history = decisions(mlflow_cfg, d)
    assert [(h["decision"], h["reviewer"]) for h in history] == [("approved", "alice"), ("rejected", "bob")]
    assert all(h["digest"] == d for h in history)
    with pytest.raises(TunepipeError, match="rejected by bob .*emails left in the context column"):
        approval.require_approved(mlflow_cfg, d)


def test_decisions_need_a_reviewer_and_a_rejection_a_reason(mlflow_cfg):
    d = digest_of("needs-names")
    with pytest.raises(TunepipeError, match="--reviewer"):
        approval.approve(mlflow_cfg, d, "  ")
    with pytest.raises(TunepipeError, match="--reason"):
        approval.reject(mlflow_cfg, d, "bob", "")
    assert approval.approval_status(mlflow_cfg, d) is None


def test_require_approved_says_how_to_approve(mlflow_cfg):
    d = digest_of("never-reviewed")
    with pytest.raises(TunepipeError) as err:
        approval.require_approved(mlflow_cfg, d)
    assert f"dataset {d} is not approved" in str(err.value)
    assert f"tunepipe approve {d} --reviewer NAME" in str(err.value)
    assert "tunepipe review show" in str(err.value)


def test_digest_prefixes_resolve_only_when_unique(mlflow_cfg):
    d = digest_of("prefix-target")
    approval.approve(mlflow_cfg, d, "carol")
    assert approval.approval_status(mlflow_cfg, d[:12].upper())["digest"] == d
    assert approval.reject(mlflow_cfg, d[:20], "carol", "changed my mind")["digest"] == d

    twin_a, twin_b = "abcdef012345" + "0" * 52, "abcdef012345" + "1" * 52
    approval.approve(mlflow_cfg, twin_a, "carol")
    approval.approve(mlflow_cfg, twin_b, "carol")
    with pytest.raises(TunepipeError, match="ambiguous"):
        approval.approval_status(mlflow_cfg, "abcdef012345")
    assert approval.approval_status(mlflow_cfg, "abcdef0123451")["digest"] == twin_b
    with pytest.raises(TunepipeError, match="at least 12"):
        approval.approve(mlflow_cfg, d[:8], "carol")
    with pytest.raises(TunepipeError, match="no dataset review matches"):
        approval.approve(mlflow_cfg, "f" * 12 + "e" * 4, "carol")
    with pytest.raises(TunepipeError, match="not a dataset digest"):
        approval.approve(mlflow_cfg, "not-a-digest", "carol")


def test_list_reviews_shows_every_digest(mlflow_cfg):
    d = digest_of("listed")
    approval.reject(mlflow_cfg, d, "dave", "too few rows")
    listed = {r["digest"]: r for r in approval.list_reviews(mlflow_cfg)}
    assert listed[d]["status"] == "rejected" and listed[d]["note"] == "too few rows"


def test_gate_passes_an_approved_digest_without_a_new_decision(mlflow_cfg):
    d = digest_of("gate-approved")
    approval.approve(mlflow_cfg, d, "erin")
    result = approval.gate(with_mode(mlflow_cfg, mode="stop"), d)
    assert result["status"] == "approved" and result["reviewer"] == "erin"
    assert len(decisions(mlflow_cfg, d)) == 1


def test_gate_refuses_a_rejected_digest_in_every_mode(mlflow_cfg):
    d = digest_of("gate-rejected")
    approval.reject(mlflow_cfg, d, "frank", "contains customer secrets")
    for mode in ("demo", "stop", "wait"):
        with pytest.raises(TunepipeError, match="rejected by frank"):
            approval.gate(with_mode(mlflow_cfg, mode=mode, timeout_s=0), d)


def test_gate_stop_mode_says_how_to_approve(mlflow_cfg):
    d = digest_of("gate-stop")
    with pytest.raises(TunepipeError, match=f"awaiting approval.*tunepipe approve {d} --reviewer NAME"):
        approval.gate(with_mode(mlflow_cfg, mode="stop"), d)


def test_gate_demo_mode_records_a_loud_auto_approval(mlflow_cfg, caplog):
    d = digest_of("gate-demo")
    cfg = with_mode(mlflow_cfg, mode="demo")
    with caplog.at_level(logging.WARNING, logger="tunepipe.rai.approval"):
        result = approval.gate(cfg, d)
    assert result["status"] == "approved" and result["reviewer"] == cfg.approval.demo_reviewer
    assert "auto-approved by the demo config" in result["note"]
    assert any(r.levelno == logging.WARNING and d in r.getMessage() for r in caplog.records)
    assert approval.require_approved(mlflow_cfg, d)["reviewer"] == cfg.approval.demo_reviewer


def test_gate_wait_mode_times_out_with_progress(mlflow_cfg, capsys):
    d = digest_of("gate-wait-timeout")
    cfg = with_mode(mlflow_cfg, mode="wait", poll_interval_s=0.1, timeout_s=0.3)
    with pytest.raises(TunepipeError, match="timed out .* waiting for approval"):
        approval.gate(cfg, d)
    assert "waiting for approval of dataset" in capsys.readouterr().out


def test_gate_wait_mode_returns_when_another_process_approves(mlflow_cfg, capsys):
    d = digest_of("gate-wait-approved")
    cfg = with_mode(mlflow_cfg, mode="wait", poll_interval_s=0.2, timeout_s=60)
    approver = threading.Timer(1.0, approval.approve, args=(mlflow_cfg, d, "grace", "approved from the UI"))
    approver.start()
    started = time.monotonic()
    try:
        result = approval.gate(cfg, d)
    finally:
        approver.join()
    assert result["reviewer"] == "grace" and result["status"] == "approved"
    assert 0.9 < time.monotonic() - started < 30
    assert "waiting for approval" in capsys.readouterr().out
