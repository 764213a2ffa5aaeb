"""Approvals bound to a dataset digest, recorded in MLflow (SQLite in a temp dir), and the gate."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from pathlib import Path

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError
from tunepipe.governance import approval


def digest_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def decisions(cfg, digest: str) -> list[dict]:
    """The decision records logged on the digest's review run, oldest first."""
    client = tracking.client(cfg)
    run_id = approval.approval_status(cfg, digest)["review_run_id"]
    files = sorted(a.path for a in client.list_artifacts(run_id, "decisions"))
    return [json.loads(Path(client.download_artifacts(run_id, f)).read_text()) for f in files]


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
    with caplog.at_level(logging.WARNING, logger="tunepipe.governance.approval"):
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


def with_section(cfg, section: str, **values):
    return cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=values)})


def test_policy_version_covers_the_pii_and_rai_sections_only(mlflow_cfg):
    version = approval.policy_version(mlflow_cfg)
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    assert approval.policy_version(with_section(mlflow_cfg, "training", max_steps=3)) == version
    assert approval.policy_version(with_section(mlflow_cfg, "approval", mode="wait")) == version
    assert approval.policy_version(with_section(mlflow_cfg, "pii", actions={"PERSON": "mask"})) != version
    toxicity = mlflow_cfg.rai.toxicity.model_copy(update={"action": "drop"})
    assert approval.policy_version(with_section(mlflow_cfg, "rai", toxicity=toxicity)) != version


def test_an_approval_binds_the_policy_version(mlflow_cfg):
    d = digest_of("policy-bound")
    ok = approval.approve(mlflow_cfg, d, "alice")
    assert ok["policy_version"] == approval.policy_version(mlflow_cfg)
    assert decisions(mlflow_cfg, d)[-1]["policy_version"] == ok["policy_version"]
    changed = with_section(mlflow_cfg, "pii", actions={"PERSON": "mask"})
    current = approval.policy_version(changed)
    expected = (f"approved by alice under policy {ok['policy_version']}, but the current policy is {current}"
                ".*Re-review")
    with pytest.raises(TunepipeError, match=expected):
        approval.require_approved(changed, d)
    assert approval.require_approved(mlflow_cfg, d)["policy_version"] == ok["policy_version"]


def test_an_approval_binds_the_policy_the_report_was_written_under(mlflow_cfg):
    d = digest_of("reviewed-policy")
    tracking.client(mlflow_cfg).set_tag(approval.review_run_id(mlflow_cfg, d), approval.POLICY_TAG, "00000000000000aa")
    assert approval.approve(mlflow_cfg, d, "alice")["policy_version"] == "00000000000000aa"
    with pytest.raises(TunepipeError, match="under policy 00000000000000aa, but the current policy"):
        approval.require_approved(mlflow_cfg, d)
    assert approval.require_approved(mlflow_cfg, d, policy="00000000000000aa")["reviewer"] == "alice"


def test_four_eyes_refuses_the_launcher_by_name_or_login(mlflow_cfg, monkeypatch):
    cfg = with_mode(mlflow_cfg, four_eyes=True, launched_by="Bob")
    d = digest_of("four-eyes")
    monkeypatch.setenv("USER", "carol")
    with pytest.raises(TunepipeError, match="four-eyes rule .*Bob launched the run .*cannot approve it\\. Ask"):
        approval.approve(cfg, d, "bob")
    monkeypatch.setenv("USER", "bob")
    with pytest.raises(TunepipeError, match="four-eyes rule .*Bob launched .*you are logged in as bob"):
        approval.approve(cfg, d, "alice")
    monkeypatch.setenv("USER", "alice")
    ok = approval.approve(cfg, d, "alice", "second pair of eyes")
    assert ok["launched_by"] == "Bob" and ok["four_eyes"] is True
    assert approval.require_approved(cfg, d)["reviewer"] == "alice"
    assert [h["reviewer"] for h in decisions(cfg, d)] == ["alice"]


def test_four_eyes_recorded_at_review_time_binds_a_cli_without_the_config(mlflow_cfg, monkeypatch):
    d = digest_of("four-eyes-recorded")
    run_id = approval.review_run_id(mlflow_cfg, d)
    tracking.client(mlflow_cfg).set_tag(run_id, approval.LAUNCHED_BY_TAG, "dave")
    tracking.client(mlflow_cfg).set_tag(run_id, approval.FOUR_EYES_TAG, "true")
    monkeypatch.setenv("USER", "someone-else")
    assert not mlflow_cfg.approval.four_eyes
    with pytest.raises(TunepipeError, match="four-eyes rule .*dave launched"):
        approval.approve(mlflow_cfg, d, "Dave ")


def test_four_eyes_needs_a_known_launcher(mlflow_cfg, monkeypatch):
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("LOGNAME", raising=False)
    with pytest.raises(TunepipeError, match="nobody is recorded as having launched .*approval.launched_by"):
        approval.approve(with_mode(mlflow_cfg, four_eyes=True), digest_of("no-launcher"), "alice")


def audited(cfg, tmp_path, **settings):
    return with_mode(cfg, audit_log=str(tmp_path / "audit.jsonl"), **settings)


def test_every_decision_and_gate_outcome_is_audited(mlflow_cfg, tmp_path, monkeypatch):
    from tunepipe.governance.audit import line_hash, read_entries, verify_audit_log

    monkeypatch.setenv("USER", "ops")
    cfg = audited(mlflow_cfg, tmp_path, mode="stop", launched_by="launcher")
    d, policy = digest_of("audited"), approval.policy_version(cfg)
    with pytest.raises(TunepipeError, match="awaiting approval"):
        approval.gate(cfg, d)
    approval.approve(cfg, d, "alice", "fine")
    approval.gate(cfg, d)
    approval.reject(cfg, d, "bob", "secrets in row 7")
    with pytest.raises(TunepipeError, match="rejected by bob"):
        approval.gate(cfg, d)
    entries = read_entries(tmp_path / "audit.jsonl")
    assert [e["action"] for e in entries] == ["gate-awaiting", "approve", "gate-passed", "reject", "gate-rejected"]
    assert all(e["digest"] == d and e["policy_version"] == policy for e in entries)
    assert [e["actor"] for e in entries] == ["approval gate", "alice", "approval gate", "bob", "approval gate"]
    assert entries[0]["user"] == "launcher" and entries[1]["user"] == "ops"
    assert entries[3]["note"] == "secrets in row 7" and "tunepipe approve" in entries[0]["note"]
    assert verify_audit_log(tmp_path / "audit.jsonl")["entries"] == 5
    lines = (tmp_path / "audit.jsonl").read_bytes().splitlines()
    assert [h["audit_sha256"] for h in decisions(cfg, d)] == [line_hash(lines[1]), line_hash(lines[3])]


def test_demo_approvals_are_audited_and_the_default_log_is_in_the_data_dir(mlflow_cfg):
    from tunepipe.governance.audit import read_entries

    d = digest_of("demo-audited")
    approval.gate(with_mode(mlflow_cfg, mode="demo"), d)
    assert approval.audit_log_path(mlflow_cfg) == mlflow_cfg.data_dir / "audit.jsonl"
    mine = [e for e in read_entries(mlflow_cfg.data_dir / "audit.jsonl") if e["digest"] == d]
    assert [(e["action"], e["actor"]) for e in mine] == [
        ("demo-approve", mlflow_cfg.approval.demo_reviewer), ("gate-passed", "approval gate")]


def test_a_decision_that_cannot_be_audited_is_not_recorded(mlflow_cfg, tmp_path):
    cfg = with_mode(mlflow_cfg, audit_log=str(tmp_path))
    d = digest_of("unaudited")
    with pytest.raises(TunepipeError, match="cannot append to the audit log .*nothing was recorded"):
        approval.approve(cfg, d, "alice")
    assert approval.approval_status(cfg, d)["status"] == "pending"


def write_log(path: Path, n: int = 4) -> list[bytes]:
    from tunepipe.governance.audit import append_entry

    for i in range(n):
        append_entry(path, actor=f"reviewer-{i}", action="approve", digest=digest_of(str(i)),
                     policy_version="0" * 16, note=f"note {i}")
    return path.read_bytes().splitlines(keepends=True)


def _edit_note(lines):
    return [lines[0], lines[1].replace(b"note 1", b"note X"), *lines[2:]]


@pytest.mark.parametrize("tamper, bad_line, what", [
    (_edit_note, 3, "prev_sha256 does not match line 2"),
    (lambda lines: [lines[0], *lines[2:]], 2, "prev_sha256 does not match line 1"),
    (lambda lines: lines[1:], 1, "does not match the start of the log"),
    (lambda lines: [lines[0], lines[2], lines[1], lines[3]], 2, "prev_sha256 does not match line 1"),
    (lambda lines: [*lines[:2], lines[1], *lines[2:]], 3, "prev_sha256 does not match line 2"),
    (lambda lines: [*lines[:2], b"{not json\n", *lines[2:]], 3, "is not a JSON entry"),
    (lambda lines: [*lines[:2], b'{"action": "approve"}\n', *lines[2:]], 3, "does not have the audit fields"),
])
def test_audit_log_edits_and_deletions_are_detected(tmp_path, tamper, bad_line, what):
    from tunepipe.governance.audit import verify_audit_log

    path = tmp_path / "audit.jsonl"
    lines = write_log(path)
    assert verify_audit_log(path)["entries"] == 4
    path.write_bytes(b"".join(tamper(lines)))
    with pytest.raises(TunepipeError, match=f"line {bad_line}.*{what}"):
        verify_audit_log(path)


def test_a_missing_audit_log_is_an_error(tmp_path):
    from tunepipe.governance.audit import verify_audit_log

    with pytest.raises(TunepipeError, match="no audit log at .*deleted"):
        verify_audit_log(tmp_path / "audit.jsonl")


def test_concurrent_appends_keep_one_chain(tmp_path):
    from tunepipe.governance.audit import verify_audit_log

    path = tmp_path / "audit.jsonl"
    workers = [threading.Thread(target=write_log, args=(path, 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert verify_audit_log(path)["entries"] == 100


def test_long_entries_chain_across_read_blocks(tmp_path):
    from tunepipe.governance.audit import append_entry, verify_audit_log

    path = tmp_path / "audit.jsonl"
    for note in ("x" * 20_000, "short", "y" * 9000, ""):
        append_entry(path, actor="a", action="reject", digest="d", policy_version="p", note=note)
    assert verify_audit_log(path)["entries"] == 4
