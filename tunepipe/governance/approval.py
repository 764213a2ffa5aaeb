"""Dataset approvals: a human decision bound to a content digest AND a redaction policy version.

Each dataset digest has one "dataset review" run in the experiment `tracking.REVIEW_EXPERIMENT`.
Its tags show the current decision (`tunepipe.review.status` = pending | approved | rejected, with
reviewer, time, note and the policy version decided under); every decision is also logged as a JSON
record under `decisions/`, signed (`governance.signing`) and appended to the hash-chained, anchored
audit log (`governance.ledger`), so the history survives a later change of mind and edits are detectable.
With an MLflow server running basic-auth, the reviewer is the authenticated user (`governance.identity`).

An approval counts only when (1) the newest decision record says approved and the run's tags agree
with it (a tag edited in the MLflow UI is not a decision), its signature verifies and its audit entry
is in the verified log (a record written with `MlflowClient` is not a decision either), (2) it was made under the policy version
the run uses now (`policy_version(cfg)`: the `pii` and `rai` config sections), and (3) with
`approval.four_eyes`, the reviewer is not who launched the run. `require_approved` (training) and
`gate` (pipeline) apply these checks; nothing trains on data nobody approved.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pii.policy import policy_version
from tunepipe.governance import identity, ledger, signing

DIGEST_TAG = "tunepipe.digest"
STATUS_TAG = "tunepipe.review.status"
REVIEWER_TAG = "tunepipe.review.reviewer"
TIME_TAG = "tunepipe.review.time"
NOTE_TAG = "tunepipe.review.note"
DECISION_POLICY_TAG = "tunepipe.review.policy_version"
POLICY_TAG = "tunepipe.policy_version"
LAUNCHED_BY_TAG = "tunepipe.review.launched_by"
FOUR_EYES_TAG = "tunepipe.review.four_eyes"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MIN_PREFIX = 12
_TAG_LIMIT = 5000
GATE_ACTOR = "approval gate"

log = logging.getLogger(__name__)


def launched_by(cfg: Config) -> str:
    """Who launched the run: `approval.launched_by`, else the login ($USER / $LOGNAME), else ''."""
    return (cfg.approval.launched_by or os.environ.get("USER") or os.environ.get("LOGNAME") or "").strip()


def audit_log_path(cfg: Config) -> Path:
    return ledger.log_path(cfg)


def _login() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or ""


def _audit(cfg: Config, actor: str, action: str, digest: str, policy: str, note: str, user: str = "") -> dict:
    return ledger.append(cfg, actor=actor, action=action, digest=digest, policy_version=policy,
                         note=note, user=user or _login())


def _client(cfg: Config):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking.setup_mlflow(cfg))


def _experiment_id(cfg: Config) -> str:
    tracking.setup_mlflow(cfg)
    return tracking.ensure_experiment(cfg, tracking.REVIEW_EXPERIMENT)


def approve_command(digest: str) -> str:
    return f"tunepipe approve {digest} --reviewer NAME --note TEXT"


def reject_command(digest: str) -> str:
    return f"tunepipe reject {digest} --reviewer NAME --reason TEXT"


def show_command(digest: str) -> str:
    return f"tunepipe review show {digest}"


def _review_runs(cfg: Config, filter_string: str = "") -> list:
    client, exp_id = _client(cfg), _experiment_id(cfg)
    runs, token = [], None
    while True:
        page = client.search_runs(
            [exp_id], filter_string, max_results=1000, order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def resolve_digest(cfg: Config, digest: str) -> str:
    """The full digest for `digest`: itself when complete, else the one review run it prefixes."""
    value = (digest or "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]+", value) or len(value) > 64:
        raise TunepipeError(f"{digest!r} is not a dataset digest (64 hex characters, or a prefix of them)")
    if len(value) == 64:
        return value
    if len(value) < MIN_PREFIX:
        raise TunepipeError(
            f"digest prefix {value!r} is too short: give at least {MIN_PREFIX} hex characters "
            "(see `tunepipe review list`)"
        )
    runs = _review_runs(cfg, f"tags.`{DIGEST_TAG}` LIKE '{value}%'")
    found = sorted({r.data.tags[DIGEST_TAG] for r in runs})
    if not found:
        raise TunepipeError(
            f"no dataset review matches digest prefix {value!r}; run the pipeline's review step "
            "first, or pass the full 64-character digest (see `tunepipe review list`)"
        )
    if len(found) > 1:
        raise TunepipeError(f"digest prefix {value!r} is ambiguous: {', '.join(found)}; give more characters")
    return found[0]


def find_review_run(cfg: Config, digest: str):
    """The review run of a full digest, or None."""
    runs = _review_runs(cfg, f"tags.`{DIGEST_TAG}` = '{digest}'")
    return runs[-1] if runs else None


def review_run_id(cfg: Config, digest: str) -> str:
    """The review run of `digest`, created (status pending) if the digest has none yet."""
    run = find_review_run(cfg, digest)
    if run is not None:
        return run.info.run_id
    client = _client(cfg)
    run = client.create_run(
        _experiment_id(cfg),
        run_name=f"review-{digest[:12]}",
        tags={DIGEST_TAG: digest, STATUS_TAG: PENDING, "tunepipe.stage": "dataset-review"},
    )
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def _status_of(run) -> dict:
    tags = run.data.tags
    return {
        "digest": tags.get(DIGEST_TAG),
        "status": tags.get(STATUS_TAG, PENDING),
        "reviewer": tags.get(REVIEWER_TAG),
        "time": tags.get(TIME_TAG),
        "note": tags.get(NOTE_TAG),
        "policy_version": tags.get(DECISION_POLICY_TAG),
        "reviewed_policy_version": tags.get(POLICY_TAG),
        "launched_by": tags.get(LAUNCHED_BY_TAG),
        "four_eyes": tags.get(FOUR_EYES_TAG) == "true",
        "rows": run.data.params.get("rows"),
        "review_run_id": run.info.run_id,
    }


def _same_person(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().casefold() == b.strip().casefold()


def _check_four_eyes(cfg: Config, digest: str, status: dict, reviewer: str) -> tuple[str, bool]:
    """(launcher, four_eyes) for an approval; raises when the reviewer (or the login) launched the run."""
    launcher = status["launched_by"] or launched_by(cfg)
    required = cfg.approval.four_eyes or status["four_eyes"]
    if not required:
        return launcher, False
    if not launcher:
        raise TunepipeError(
            f"four-eyes approval is required for dataset {digest}, but nobody is recorded as having "
            "launched its run: set approval.launched_by in the config the pipeline runs with"
        )
    as_login = _same_person(_login(), launcher) and not _same_person(reviewer, launcher)
    if _same_person(reviewer, launcher) or as_login:
        raise TunepipeError(
            f"four-eyes rule (approval.four_eyes): {launcher} launched the run that produced dataset "
            f"{digest[:12]} and cannot approve it{f' (you are logged in as {_login()})' if as_login else ''}. "
            f"Ask another reviewer, logged in as themselves, to run: {approve_command(digest)}"
        )
    return launcher, True


def _decide(cfg: Config, digest: str, decision: str, reviewer: str, note: str, action: str,
            policy: str | None = None) -> dict:
    if action != "demo-approve":
        reviewer = identity.resolve_reviewer(tracking.tracking_uri(cfg), reviewer,
                                             f"recording a dataset as {decision}")
    elif not (reviewer or "").strip():
        raise TunepipeError("approval.demo_reviewer is empty: give the demo reviewer a name")
    digest = resolve_digest(cfg, digest)
    run_id = review_run_id(cfg, digest)
    status = approval_status(cfg, digest)
    policy = policy or status["reviewed_policy_version"] or policy_version(cfg)
    if decision == APPROVED:
        launcher, four_eyes = _check_four_eyes(cfg, digest, status, reviewer)
    else:
        launcher, four_eyes = status["launched_by"] or launched_by(cfg), False
    entry = _audit(cfg, reviewer.strip(), action, digest, policy, note or "")
    now = datetime.now(timezone.utc)
    record = signing.sign({
        "digest": digest, "decision": decision, "reviewer": reviewer.strip(),
        "time": now.isoformat(timespec="seconds"), "note": note or "", "policy_version": policy,
        "launched_by": launcher, "four_eyes": four_eyes, "audit_sha256": entry["sha256"], "action": action,
    })
    _record_in_mlflow(cfg, run_id, record, f"decisions/{now.strftime('%Y%m%dT%H%M%S%fZ')}-{decision}.json")
    return {**record, "status": decision, "review_run_id": run_id}


def _record_in_mlflow(cfg: Config, run_id: str, record: dict, artifact_file: str) -> None:
    """The decision record first, then all status tags in one batch, so a poller never sees them half set."""
    from mlflow.entities import RunTag

    client = _client(cfg)
    client.log_text(run_id, json.dumps(record, indent=2), artifact_file)
    tags = {
        STATUS_TAG: record["decision"], REVIEWER_TAG: record["reviewer"], TIME_TAG: record["time"],
        NOTE_TAG: record["note"][:_TAG_LIMIT], DECISION_POLICY_TAG: record["policy_version"],
    }
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])


def approve(cfg: Config, digest: str, reviewer: str, note: str = "") -> dict:
    """Record that `reviewer` approved the dataset `digest` (a full digest or a unique prefix).

    The approval binds the policy version the review report was written under (or the config's own,
    when the digest was never reported) and, with `approval.four_eyes`, refuses the run's launcher.
    """
    return _decide(cfg, digest, APPROVED, reviewer, note, "approve")


def reject(cfg: Config, digest: str, reviewer: str, reason: str) -> dict:
    """Record that `reviewer` rejected the dataset `digest`; `reason` is required."""
    if not (reason or "").strip():
        raise TunepipeError("a rejection needs a reason: pass --reason TEXT (what must change in the data)")
    return _decide(cfg, digest, REJECTED, reviewer, reason, "reject")


def approval_status(cfg: Config, digest: str) -> dict | None:
    """The current decision for `digest` as the run's tags show it, or None when it was never reviewed."""
    run = find_review_run(cfg, resolve_digest(cfg, digest))
    return None if run is None else _status_of(run)


def list_reviews(cfg: Config) -> list[dict]:
    """All dataset reviews, newest first."""
    return [{**_status_of(r), "created": r.info.start_time} for r in _review_runs(cfg)]


def load_json_artifact(cfg: Config, run_id: str, path: str) -> dict:
    """A JSON artifact of a run, without MLflow's download progress bar in the logs."""
    import mlflow.artifacts

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")


def latest_decision(cfg: Config, run_id: str) -> dict | None:
    """The newest decision record logged on a review run, or None."""
    files = sorted(a.path for a in _client(cfg).list_artifacts(run_id, "decisions") if a.path.endswith(".json"))
    return load_json_artifact(cfg, run_id, files[-1]) if files else None


@dataclass
class Check:
    """Where a digest stands for the current policy: approved, rejected or pending (with why)."""

    state: str
    status: dict | None
    problem: str = ""


def check(cfg: Config, digest: str, policy: str | None = None) -> Check:
    """Whether `digest` (full) is approved for training under `policy` (default: the config's)."""
    status = approval_status(cfg, digest)
    if status is None or status["status"] == PENDING:
        return Check(PENDING, status, "")
    record = latest_decision(cfg, status["review_run_id"])
    if record is None or any(record.get(k) != status[s] for k, s in
                             (("decision", "status"), ("digest", "digest"), ("reviewer", "reviewer"))):
        raise TunepipeError(
            f"the review run of dataset {digest} says {status['status']} by {status['reviewer']}, but its "
            f"newest decision record says {_describe(record)}: its tags were edited outside tunepipe. "
            f"Record a real decision: {approve_command(digest)}"
        )
    verify_record(cfg, digest, record)
    if record["decision"] == REJECTED:
        return Check(REJECTED, status)
    return Check(*_approval_problem(cfg, digest, status, record, policy or policy_version(cfg)))


def verify_record(cfg: Config, digest: str, record: dict) -> None:
    """The record's signature, and its audit entry in the verified, anchored log; raises naming what failed."""
    what = f"the {record.get('decision')} record of dataset {digest[:12]} by {record.get('reviewer')}"
    signing.verify(record, what)
    expected = {"digest": digest, "actor": record.get("reviewer")}
    if record.get("action"):
        expected["action"] = record["action"]
    ledger.require_entry(cfg, record.get("audit_sha256", ""), what, **expected)


def _describe(record: dict | None) -> str:
    return "nothing" if record is None else f"{record.get('decision')} by {record.get('reviewer')}"


def _approval_problem(cfg: Config, digest: str, status: dict, record: dict, current: str) -> tuple:
    approved_under = record.get("policy_version") or "(unknown)"
    if approved_under != current:
        return PENDING, status, (
            f"dataset {digest[:12]} was approved by {record['reviewer']} under policy {approved_under}, but the "
            f"current policy is {current} (the pii/rai config changed). Re-review: run the pipeline to "
            f"refresh the report ({show_command(digest)}), then {approve_command(digest)}"
        )
    four_eyes = cfg.approval.four_eyes or record.get("four_eyes")
    launcher = record.get("launched_by") or status.get("launched_by")
    if four_eyes and (not launcher or _same_person(record["reviewer"], launcher)):
        who = f"{launcher}, who launched the run" if launcher else "someone while the launcher was unknown"
        return PENDING, status, (
            f"dataset {digest[:12]} was approved by {who}; approval.four_eyes needs another "
            f"reviewer: {approve_command(digest)}"
        )
    return APPROVED, {**status, "policy_version": approved_under}, ""


def _rejected(digest: str, status: dict) -> TunepipeError:
    return TunepipeError(
        f"dataset {digest} was rejected by {status['reviewer']} at {status['time']}: "
        f"{status['note'] or '(no reason given)'}. Fix the data and re-run the pipeline "
        f"(changed data gets a new digest and review), or approve it: {approve_command(digest)}"
    )


def _not_approved(digest: str, result: Check) -> TunepipeError:
    if result.state == REJECTED:
        return _rejected(digest, result.status)
    if result.problem:
        return TunepipeError(result.problem)
    return TunepipeError(
        f"dataset {digest} is not approved. Read the review report ({show_command(digest)}) "
        f"and run: tunepipe approve {digest} --reviewer NAME"
    )


def require_approved(cfg: Config, digest: str, policy: str | None = None) -> dict:
    """The approval of `digest` under the current policy; raises TunepipeError otherwise."""
    digest = resolve_digest(cfg, digest)
    result = check(cfg, digest, policy)
    if result.state != APPROVED:
        raise _not_approved(digest, result)
    return result.status


def gate(cfg: Config, digest: str, policy: str | None = None) -> dict:
    """Pass a digest approved under the current policy; else act on `approval.mode` (demo, stop or wait).

    Every outcome (passed, awaiting, rejected) is appended to the audit log.
    """
    digest = resolve_digest(cfg, digest)
    policy = policy or policy_version(cfg)
    result = check(cfg, digest, policy)
    if result.state == APPROVED:
        return _passed(cfg, digest, policy, result.status, "existing approval")
    if result.state == REJECTED:
        raise _gate_rejected(cfg, digest, policy, result)
    mode = cfg.approval.mode
    if mode == "demo" and not cfg.approval.four_eyes:
        return _demo_approve(cfg, digest, policy)
    if mode == "wait":
        return _wait_for_approval(cfg, digest, policy, result)
    why = "approval.mode=stop" if mode == "stop" else "approval.mode=demo cannot approve under approval.four_eyes"
    raise _awaiting(cfg, digest, policy, f"{result.problem}. " if result.problem else "", why)


def _awaiting(cfg: Config, digest: str, policy: str, problem: str, why: str) -> TunepipeError:
    message = (
        f"{problem}Dataset {digest} is awaiting approval ({why}). Read the review report "
        f"({show_command(digest)}), then run: {approve_command(digest)} and start the pipeline "
        "again; the approved data is not processed twice."
    )
    _audit(cfg, GATE_ACTOR, "gate-awaiting", digest, policy, message, launched_by(cfg))
    return TunepipeError(message)


def _passed(cfg: Config, digest: str, policy: str, status: dict, via: str) -> dict:
    note = f"{via}: approved by {status['reviewer']} at {status['time']}"
    _audit(cfg, GATE_ACTOR, "gate-passed", digest, policy, note, launched_by(cfg))
    return {**status, "policy_version": policy, "via": via}


def _gate_rejected(cfg: Config, digest: str, policy: str, result: Check) -> TunepipeError:
    err = _not_approved(digest, result)
    _audit(cfg, GATE_ACTOR, "gate-rejected", digest, policy, str(err), launched_by(cfg))
    return err


def _demo_approve(cfg: Config, digest: str, policy: str) -> dict:
    note = (
        "auto-approved by the demo config (approval.mode=demo): nobody reviewed this data. "
        "Use approval.mode=stop or wait for real data."
    )
    log.warning("dataset %s %s", digest, note)
    record = _decide(cfg, digest, APPROVED, cfg.approval.demo_reviewer, note, "demo-approve", policy)
    return _passed(cfg, digest, policy, record, "demo auto-approval")


def _wait_for_approval(cfg: Config, digest: str, policy: str, result: Check) -> dict:
    """Poll until approved, rejected or `approval.timeout_s`, through tenacity (one kept retry library)."""
    import tenacity

    poll, timeout = cfg.approval.poll_interval_s, cfg.approval.timeout_s
    _audit(cfg, GATE_ACTOR, "gate-awaiting", digest, policy,
           f"waiting up to {timeout:g}s for approval. {result.problem}".strip(), launched_by(cfg))
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda r: r.state == PENDING),
        stop=tenacity.stop_after_delay(timeout), wait=tenacity.wait_fixed(poll),
        before_sleep=lambda state: _print_waiting(digest, state.seconds_since_start or 0.0, timeout),
        retry_error_callback=lambda state: state.outcome.result(), sleep=tenacity.nap.sleep,
    )
    result = retrying(check, cfg, digest, policy)
    if result.state == APPROVED:
        print(f"dataset {digest[:12]} approved by {result.status['reviewer']}", flush=True)
        return _passed(cfg, digest, policy, result.status, "approved while waiting")
    if result.state == REJECTED:
        raise _gate_rejected(cfg, digest, policy, result)
    waited = retrying.statistics.get("delay_since_first_attempt", timeout)
    message = (
        f"timed out after {waited:.0f}s waiting for approval of dataset {digest} "
        f"(approval.timeout_s={timeout:g}); it is still awaiting approval. Read the review report "
        f"({show_command(digest)}), run: {approve_command(digest)}, and start the pipeline again."
    )
    _audit(cfg, GATE_ACTOR, "gate-awaiting", digest, policy, message, launched_by(cfg))
    raise TunepipeError(message)


def _print_waiting(digest: str, waited: float, timeout: float) -> None:
    print(f"waiting for approval of dataset {digest[:12]} ({waited:.0f}s of {timeout:g}s); "
          f"run: {approve_command(digest)}", flush=True)
