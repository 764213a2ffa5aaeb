"""Dataset approvals: a human decision bound to a content digest, recorded in MLflow.

Each dataset digest has one "dataset review" run in the experiment `tracking.REVIEW_EXPERIMENT`.
Its tags carry the current decision (`tunepipe.review.status` = pending | approved | rejected, with
reviewer, time and note); every decision is also logged as an append-only JSON artifact under
`decisions/`, so the history survives a later change of mind. Training calls `require_approved`
(or the pipeline calls `gate`), so nothing trains on data nobody approved.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timezone

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

DIGEST_TAG = "tunepipe.digest"
STATUS_TAG = "tunepipe.review.status"
REVIEWER_TAG = "tunepipe.review.reviewer"
TIME_TAG = "tunepipe.review.time"
NOTE_TAG = "tunepipe.review.note"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MIN_PREFIX = 12
_TAG_LIMIT = 5000

log = logging.getLogger(__name__)


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
        "review_run_id": run.info.run_id,
    }


def _decide(cfg: Config, digest: str, decision: str, reviewer: str, note: str) -> dict:
    if not (reviewer or "").strip():
        raise TunepipeError(f"a dataset can only be {decision} by a named reviewer: pass --reviewer NAME")
    digest = resolve_digest(cfg, digest)
    run_id = review_run_id(cfg, digest)
    now = datetime.now(timezone.utc)
    record = {
        "digest": digest, "decision": decision, "reviewer": reviewer.strip(),
        "time": now.isoformat(timespec="seconds"), "note": note or "",
    }
    client = _client(cfg)
    client.log_text(
        run_id, json.dumps(record, indent=2),
        f"decisions/{now.strftime('%Y%m%dT%H%M%S%fZ')}-{decision}.json",
    )
    for key, value in {
        STATUS_TAG: decision, REVIEWER_TAG: record["reviewer"], TIME_TAG: record["time"],
        NOTE_TAG: record["note"][:_TAG_LIMIT],
    }.items():
        client.set_tag(run_id, key, value)
    return {**record, "status": decision, "review_run_id": run_id}


def approve(cfg: Config, digest: str, reviewer: str, note: str = "") -> dict:
    """Record that `reviewer` approved the dataset `digest` (a full digest or a unique prefix)."""
    return _decide(cfg, digest, APPROVED, reviewer, note)


def reject(cfg: Config, digest: str, reviewer: str, reason: str) -> dict:
    """Record that `reviewer` rejected the dataset `digest`; `reason` is required."""
    if not (reason or "").strip():
        raise TunepipeError("a rejection needs a reason: pass --reason TEXT (what must change in the data)")
    return _decide(cfg, digest, REJECTED, reviewer, reason)


def approval_status(cfg: Config, digest: str) -> dict | None:
    """The current decision for `digest`, or None when it was never reviewed."""
    run = find_review_run(cfg, resolve_digest(cfg, digest))
    return None if run is None else _status_of(run)


def list_reviews(cfg: Config) -> list[dict]:
    """All dataset reviews, newest first."""
    return [{**_status_of(r), "created": r.info.start_time} for r in _review_runs(cfg)]


def _not_approved(digest: str, status: dict | None) -> TunepipeError:
    if status and status["status"] == REJECTED:
        return TunepipeError(
            f"dataset {digest} was rejected by {status['reviewer']} at {status['time']}: "
            f"{status['note'] or '(no reason given)'}. Fix the data and re-run the pipeline "
            f"(changed data gets a new digest and review), or approve it: {approve_command(digest)}"
        )
    return TunepipeError(
        f"dataset {digest} is not approved. Read the review report ({show_command(digest)}) "
        f"and run: tunepipe approve {digest} --reviewer NAME"
    )


def require_approved(cfg: Config, digest: str) -> dict:
    """The approval of `digest`; raises TunepipeError when it is pending, rejected or unknown."""
    digest = resolve_digest(cfg, digest)
    status = approval_status(cfg, digest)
    if status is None or status["status"] != APPROVED:
        raise _not_approved(digest, status)
    return status


def gate(cfg: Config, digest: str) -> dict:
    """Pass an approved dataset; otherwise act on `approval.mode` (demo, stop or wait)."""
    digest = resolve_digest(cfg, digest)
    status = approval_status(cfg, digest)
    if status and status["status"] == APPROVED:
        return {**status, "via": "existing approval"}
    if status and status["status"] == REJECTED:
        raise _not_approved(digest, status)
    mode = cfg.approval.mode
    if mode == "demo":
        return _demo_approve(cfg, digest)
    if mode == "stop":
        raise TunepipeError(
            f"dataset {digest} is awaiting approval (approval.mode=stop). Read the review report "
            f"({show_command(digest)}), then run: {approve_command(digest)} and start the pipeline "
            "again; the approved data is not processed twice."
        )
    return _wait_for_approval(cfg, digest)


def _demo_approve(cfg: Config, digest: str) -> dict:
    note = (
        "auto-approved by the demo config (approval.mode=demo): nobody reviewed this data. "
        "Use approval.mode=stop or wait for real data."
    )
    log.warning("dataset %s %s", digest, note)
    return {**approve(cfg, digest, cfg.approval.demo_reviewer, note), "via": "demo auto-approval"}


def _wait_for_approval(cfg: Config, digest: str) -> dict:
    poll, timeout = cfg.approval.poll_interval_s, cfg.approval.timeout_s
    start = time.monotonic()
    while True:
        status = approval_status(cfg, digest)
        if status and status["status"] == APPROVED:
            print(f"dataset {digest[:12]} approved by {status['reviewer']}", flush=True)
            return {**status, "via": "approved while waiting"}
        if status and status["status"] == REJECTED:
            raise _not_approved(digest, status)
        waited = time.monotonic() - start
        if waited >= timeout:
            raise TunepipeError(
                f"timed out after {waited:.0f}s waiting for approval of dataset {digest} "
                f"(approval.timeout_s={timeout:g}). Read the review report ({show_command(digest)}), "
                f"run: {approve_command(digest)}, and start the pipeline again."
            )
        print(
            f"waiting for approval of dataset {digest[:12]} ({waited:.0f}s of {timeout:g}s); "
            f"run: {approve_command(digest)}",
            flush=True,
        )
        time.sleep(min(poll, timeout - waited))
