"""Promotion, rollback, refusals, forgery and concurrency on a real MLflow store (SQLite in a temp dir).

Versions are registered without weights (`create_model_version` on a run): promotion reads only tags,
aliases and the audit log. The evaluation tags are the contract with the evaluation stage.
"""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError
from tunepipe.governance import approval, ledger
from tunepipe.governance.audit import GENESIS, line_hash, read_entries
from tunepipe.registry import promotion

KEY = "test-decision-key"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TUNEPIPE_DECISION_KEY", KEY)
    monkeypatch.setenv("USER", "ops")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    from tunepipe.config import Config

    root = tmp_path_factory.mktemp("registry")
    return Config.model_validate({"data": {"paths": ["x"]}, "project": {"data_dir": str(root)},
                                  "registry": {"model_name": "support"}})


def with_registry(cfg, **values):
    return cfg.model_copy(update={"registry": cfg.registry.model_copy(update=values)})


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_version(cfg, name: str, against: str = "none", gate: str = "passed", data: str | None = None,
                 approver: str | None = "alice", launcher: str = "launcher") -> str:
    """A registered version with lineage and evaluation tags; its dataset approved by `approver`."""
    client = tracking.client(cfg)
    digest = digest_of(data or f"{name}-{against}-{gate}-{approver}")
    if approver:
        approval.approve(cfg, digest, approver, "looked at the report")
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    run = client.create_run(tracking.ensure_experiment(cfg))
    tags = {promotion.EVAL_GATE: gate, promotion.EVAL_CHAMPION: against, promotion.EVAL_RUN: "eval-run",
            promotion.EVAL_TEST: "t" * 64, "tunepipe.eval.rouge_l": "0.41", "tunepipe.eval.rouge_l.vs_champion": "+0.05",
            promotion.DIGEST_TAG: digest, promotion.APPROVER_TAG: approver or "", promotion.LAUNCHER_TAG: launcher}
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id, tags=tags,
                                     description="# model card")
    return str(mv.version)


def champion(cfg, name):
    return promotion.champion_version(tracking.client(cfg), name, "champion")


def actions(cfg, name):
    return [(e["action"], e["version"]) for e in read_entries(ledger.log_path(cfg)) if e.get("model") == name]


def test_promote_twice_then_roll_back_through_the_cli(cfg, tmp_path, monkeypatch):
    import yaml
    from typer.testing import CliRunner

    from tunepipe.cli import app
    from tunepipe.cli.common import console

    monkeypatch.setattr(console, "width", 400)

    config = tmp_path / "tunepipe.yaml"
    config.write_text(yaml.safe_dump({"data": {"paths": ["x"]}, "project": {"data_dir": str(cfg.data_dir)}}))
    run = lambda *args: CliRunner().invoke(app, [*args, "--config", str(config)])  # noqa: E731
    v1 = make_version(cfg, "support")
    out = run("promote", "support", v1, "--reviewer", "bob", "--note", "first model")
    assert out.exit_code == 0, out.output
    v2 = make_version(cfg, "support", against=v1)
    assert run("promote", "support", v2, "--reviewer", "carol", "--note", "beats v1").exit_code == 0
    mv2 = tracking.client(cfg).get_model_version("support", v2)
    assert champion(cfg, "support") == v2 and mv2.tags[promotion.PREVIOUS] == v1
    assert mv2.tags[promotion.PROMOTED_BY] == "carol" and "## Promotion history" in mv2.description
    out = run("rollback", "support", "--reviewer", "dave", "--reason", "answers got worse")
    assert out.exit_code == 0, out.output
    assert champion(cfg, "support") == v1
    assert tracking.client(cfg).get_model_version("support", v2).tags[promotion.ROLLED_BACK[0]] == "dave"
    out = run("rollback", "support", "--reviewer", "dave", "--reason", "again")
    assert out.exit_code == 1 and "first champion" in out.output
    assert actions(cfg, "support") == [("promote", v1), ("promote", v2), ("rollback", v1)]
    listed = run("models", "list", "support")
    assert listed.exit_code == 0 and "champion" in listed.output and "rolled back by dave" in listed.output
    shown = run("models", "show", "support@champion")
    assert shown.exit_code == 0 and "record     verified" in shown.output and "rollback" in shown.output
    audit = run("review", "audit", "--tail", "50")
    assert audit.exit_code == 0 and "audit log intact" in audit.output
    assert "approve" in audit.output and "rollback" in audit.output


def test_refusals_name_the_reason_and_change_nothing(cfg):
    name = "refusals"
    v1 = make_version(cfg, name)
    promotion.promote(cfg, name, v1, "bob", "first")
    cases = [
        (make_version(cfg, name, against=v1, gate="failed"), "did not pass its eval gate"),
        (make_version(cfg, name, against="none", data="stale"), "evaluated against champion none, but the champion is now"),
        (make_version(cfg, name, against=v1, approver=None, data="unapproved"), "has no approval"),
    ]
    revoked = make_version(cfg, name, against=v1, data="revoked")
    approval.reject(cfg, digest_of("revoked"), "erin", "PII left in")
    cases.append((revoked, "approval of .* was revoked: .* rejected by erin"))
    for version, why in cases:
        with pytest.raises(TunepipeError, match=why):
            promotion.promote(cfg, name, version, "bob", "try")
    assert champion(cfg, name) == v1
    assert [a for a, _ in actions(cfg, name)] == ["promote"] + ["promote-refused"] * 4


def test_four_eyes_refuses_the_launcher_and_the_data_approver(cfg):
    name, strict = "four-eyes", with_registry(cfg, four_eyes=True)
    v1 = make_version(cfg, name, approver="alice", launcher="bob")
    for who, role in (("alice", "approved its data"), ("Bob", "launched its run")):
        with pytest.raises(TunepipeError, match=f"four-eyes rule .*{who} {role}"):
            promotion.promote(strict, name, v1, who, "mine")
    assert promotion.promote(strict, name, v1, "carol", "second pair of eyes")["reviewer"] == "carol"


def test_forged_records_are_refused_naming_what_failed(cfg):
    name, client = "forgery", tracking.client(cfg)
    v1 = make_version(cfg, name)
    promotion.promote(cfg, name, v1, "bob", "first")
    v2 = make_version(cfg, name, against=v1)
    client.set_registered_model_alias(name, "champion", v2)
    with pytest.raises(TunepipeError, match=f"points at v{v2} without a valid tunepipe record .*promotion record .*missing"):
        promotion.promote(cfg, name, v2, "bob", "x")
    record = json.loads(client.get_model_version(name, v1).tags[promotion.RECORD_TAG])
    client.set_model_version_tag(name, v2, promotion.RECORD_TAG, json.dumps({**record, "version": v2}))
    with pytest.raises(TunepipeError, match="signature that does not match its content"):
        promotion.rollback(cfg, name, "bob", "x")
    client.set_registered_model_alias(name, "champion", v1)

    forged = digest_of("forged-approval")
    run_id = approval.review_run_id(cfg, forged)
    client.log_text(run_id, json.dumps({"digest": forged, "decision": "approved", "reviewer": "mallory",
                                        "policy_version": approval.policy_version(cfg), "audit_sha256": GENESIS}),
                    "decisions/20990101T000000000000Z-approved.json")
    client.set_tag(run_id, approval.STATUS_TAG, "approved")
    client.set_tag(run_id, approval.REVIEWER_TAG, "mallory")
    with pytest.raises(TunepipeError, match="approved record of dataset .* by mallory is not signed"):
        approval.require_approved(cfg, forged)


def test_audit_log_edits_truncation_and_recomputed_chains_are_detected(tmp_path, monkeypatch):
    from tunepipe.config import Config

    cfg = Config.model_validate({"data": {"paths": ["x"]}, "project": {"data_dir": str(tmp_path)}})
    d = digest_of("audited-approval")
    approval.approve(cfg, d, "alice", "ok")
    approval.gate(cfg, d)
    path = ledger.log_path(cfg)
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    assert ledger.verify(cfg)["entries"] == 2 and approval.require_approved(cfg, d)
    path.write_bytes(lines[0])
    with pytest.raises(TunepipeError, match="has 1 entries but its anchor records 2 .*truncated"):
        ledger.verify(cfg)
    path.write_bytes(lines[0].replace(b'"note": "ok"', b'"note": "OK"') + lines[1])
    with pytest.raises(TunepipeError, match="line 2: its prev_sha256 does not match line 1"):
        ledger.verify(cfg)
    rewritten, prev = [], GENESIS
    for line in lines:
        entry = json.loads(line)
        entry.update(prev_sha256=prev, note=entry["note"].replace("ok", "OK"))
        rewritten.append(json.dumps(entry, sort_keys=True).encode())
        prev = line_hash(rewritten[-1])
    path.write_bytes(b"\n".join(rewritten) + b"\n")
    with pytest.raises(TunepipeError, match="does not hash to the anchored head .*rewritten"):
        approval.require_approved(cfg, d)
    path.write_bytes(original)
    monkeypatch.setenv("TUNEPIPE_DECISION_KEY", "another key")
    with pytest.raises(TunepipeError, match="signature that does not match"):
        approval.require_approved(cfg, d)


def test_two_reviewers_at_once_end_with_one_champion_and_both_attempts_audited(cfg):
    name = "race"
    v1 = make_version(cfg, name)
    promotion.promote(cfg, name, v1, "bob", "first")
    va, vb = make_version(cfg, name, against=v1, data="a"), make_version(cfg, name, against=v1, data="b")
    outcomes = {}

    def attempt(version, who):
        try:
            outcomes[who] = promotion.promote(cfg, name, version, who, "mine is better")["version"]
        except TunepipeError as err:
            outcomes[who] = str(err)

    threads = [threading.Thread(target=attempt, args=a) for a in ((va, "carol"), (vb, "dave"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = champion(cfg, name)
    assert winner in (va, vb) and sorted(map(str, outcomes.values()))[0] == winner
    assert "champion is now" in [v for v in outcomes.values() if v != winner][0]
    assert sorted(a for a, _ in actions(cfg, name)[1:]) == ["promote", "promote-refused"]


def test_auto_promote_is_off_by_default_and_audited_with_its_policy(cfg):
    name = "auto"
    v1 = make_version(cfg, name)
    assert promotion.auto_promote(cfg, name, v1) is None and champion(cfg, name) is None
    result = promotion.auto_promote(with_registry(cfg, auto_promote=True), name, v1)
    assert result["action"] == "auto-promote" and champion(cfg, name) == v1
    entry = [e for e in read_entries(ledger.log_path(cfg)) if e.get("model") == name][-1]
    assert entry["actor"] == "registry.auto_promote" and "registry.auto_promote=true" in entry["policy_version"]
    v2 = make_version(cfg, name, gate="failed")
    assert "did not pass" in promotion.auto_promote(with_registry(cfg, auto_promote=True), name, v2)["refused"]
