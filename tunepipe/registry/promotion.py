"""Promote a registered version to `champion` and roll back: checks, signed records, one audit log.

MLflow aliases keep no history, so tunepipe keeps it. A promotion or rollback writes, in this order:
a `tunepipe.promotion.requested` tag (the first write: a reviewer without EDIT permission is refused
here and nothing else changes), an entry in the governance audit log, the version's tags
(`tunepipe.promoted_by`, `tunepipe.promoted_at`, `tunepipe.previous_champion` and the signed JSON
record `tunepipe.promotion`, which names its audit entry) and its description's promotion history,
and last the alias. The alias is the commit point: it never points at a version whose record and
audit entry are missing, and a rerun after a crash finishes a promotion whose record was written, or
says which audit entry it found without one. The whole decision runs under the audit log's lock, so
two reviewers promoting at once are serialised: the second sees the new champion and is refused (its
evaluation was against the old one), and both attempts are in the log.

Refusals: the version did not pass its eval gate, was evaluated against another champion than the
current one, its dataset approval is missing, revoked or forged, or (`registry.four_eyes`) the
reviewer launched its run or approved its data. The champion a decision starts from must itself
carry a valid record: an alias moved outside tunepipe is refused.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Callable

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.governance import approval, identity, ledger, signing

EVAL_GATE, EVAL_RUN, EVAL_CHAMPION, EVAL_TEST = (
    "tunepipe.eval.gate", "tunepipe.eval.run_id", "tunepipe.eval.champion_version", "tunepipe.eval.test_digest")
DIGEST_TAG, APPROVER_TAG, LAUNCHER_TAG = "tunepipe.dataset_digest", "tunepipe.approval_reviewer", "tunepipe.launched_by"
RECORD_TAG, REQUESTED_TAG = "tunepipe.promotion", "tunepipe.promotion.requested"
PROMOTED_BY, PROMOTED_AT, PREVIOUS = "tunepipe.promoted_by", "tunepipe.promoted_at", "tunepipe.previous_champion"
ROLLED_BACK = ("tunepipe.rolled_back_by", "tunepipe.rolled_back_at", "tunepipe.rolled_back_reason")
NONE = "none"
AUTO_ACTOR = "registry.auto_promote"
HUMAN_POLICY = "human review"

STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _login() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or ""


def _mlflow_call(what: str, fn, *args, **kwargs):
    """Run an MLflow client call; a permission error becomes one line that says what to ask for."""
    from mlflow.exceptions import MlflowException

    try:
        return fn(*args, **kwargs)
    except MlflowException as err:
        if err.error_code in ("PERMISSION_DENIED", "UNAUTHENTICATED") or "403" in str(err)[:200]:
            user = os.environ.get(identity.USER_ENV) or "this user"
            raise TunepipeError(f"permission denied: {user} may not {what} on the MLflow server; nothing was "
                                "changed. Ask an MLflow admin for EDIT on the registered model (README: reviewer "
                                "permissions)") from None
        raise


def get_version(client, name: str, version: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        raise TunepipeError(f"{name} version {version} is not in the registry: see `tunepipe models list {name}`") from None


def champion_version(client, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def read_record(cfg: Config, mv) -> dict:
    """The version's promotion record, signature and audit entry verified; raises naming what failed."""
    what = f"the promotion record of {mv.name} v{mv.version}"
    raw = mv.tags.get(RECORD_TAG)
    if not raw:
        raise TunepipeError(f"{what} is missing: it was never promoted by tunepipe")
    try:
        record = json.loads(raw)
    except ValueError:
        raise TunepipeError(f"{what} is not JSON: it was edited outside tunepipe") from None
    if str(record.get("version")) != str(mv.version) or record.get("model") != mv.name:
        raise TunepipeError(f"{what} names another version ({record.get('model')} v{record.get('version')}): edited")
    signing.verify(record, what)
    ledger.require_entry(cfg, record.get("audit_sha256", ""), what, model=mv.name, version=mv.version,
                         actor=record.get("reviewer"), action=record.get("action"))
    return record


def current_champion(cfg: Config, client, name: str):
    """(version, record) of the champion, verified, or (None, None); an alias moved around tunepipe raises."""
    alias = cfg.registry.champion_alias
    version = champion_version(client, name, alias)
    if version is None:
        return None, None
    try:
        return version, read_record(cfg, get_version(client, name, version))
    except TunepipeError as err:
        raise TunepipeError(f"alias {alias} of {name} points at v{version} without a valid tunepipe record ({err}); "
                            f"it was moved outside tunepipe. Move it with `tunepipe promote` or `tunepipe rollback`") from None


def check_promotable(cfg: Config, client, mv, reviewer: str, champion: str | None, auto: bool) -> None:
    """Raise the first reason `mv` may not become champion, with what to do."""
    tags, ref = mv.tags, f"{mv.name} v{mv.version}"
    if tags.get(EVAL_GATE) != "passed":
        raise TunepipeError(f"{ref} did not pass its eval gate ({EVAL_GATE}={tags.get(EVAL_GATE, 'missing')}): only a "
                            "gate-passing version can be champion; train and evaluate a better candidate")
    against, now = tags.get(EVAL_CHAMPION), champion or NONE
    if against != now:
        raise TunepipeError(f"{ref} was evaluated against champion {against or '(not recorded)'}, but the champion is "
                            f"now {now}: re-run its evaluation against v{now} before promoting it")
    _check_dataset(cfg, ref, tags.get(DIGEST_TAG))
    if cfg.registry.four_eyes and not auto:
        _check_four_eyes(client, mv, ref, reviewer)


def _check_dataset(cfg: Config, ref: str, digest: str | None) -> None:
    if not digest:
        raise TunepipeError(f"{ref} has no {DIGEST_TAG} tag: register it through the pipeline, which records its data")
    status = approval.approval_status(cfg, digest)
    if status is None:
        raise TunepipeError(f"the dataset of {ref} ({digest[:12]}) has no approval: {approval.approve_command(digest)}")
    result = approval.check(cfg, digest, policy=status.get("policy_version") or None)
    if result.state == approval.REJECTED:
        raise TunepipeError(f"the dataset approval of {ref} was revoked: {digest[:12]} rejected by "
                            f"{status['reviewer']} at {status['time']}; it cannot be champion")
    if result.state != approval.APPROVED:
        raise TunepipeError(f"the dataset of {ref} ({digest[:12]}) is not approved ({result.problem or 'pending'}): "
                            f"{approval.approve_command(digest)}")


def _check_four_eyes(client, mv, ref: str, reviewer: str) -> None:
    launcher = mv.tags.get(LAUNCHER_TAG) or (client.get_run(mv.run_id).info.user_id if mv.run_id else "")
    for role, who in (("launched its run", launcher), ("approved its data", mv.tags.get(APPROVER_TAG))):
        if who and who.strip().casefold() == reviewer.casefold():
            raise TunepipeError(f"four-eyes rule (registry.four_eyes): {reviewer} {role} and cannot promote {ref}; "
                                "ask another reviewer, logged in as themselves")


def _history_line(record: dict) -> str:
    verb = "promoted to champion" if record["action"] != "rollback" else f"made champion again by rollback from v{record['rolled_back_from']}"
    return (f"- {record['time']}: {verb} by {record['reviewer']} (previous champion: {record['previous_champion']}; "
            f"policy: {record['policy']}; audit {record['audit_sha256'][:12]}): {record['note']}")


def _write_record(client, mv, record: dict) -> None:
    name, version = mv.name, str(mv.version)
    for key, value in ((PROMOTED_BY, record["reviewer"]), (PROMOTED_AT, record["time"]),
                       (PREVIOUS, record["previous_champion"]), (RECORD_TAG, json.dumps(record, sort_keys=True))):
        client.set_model_version_tag(name, version, key, value)
    for key in ROLLED_BACK:
        if key in mv.tags:
            client.delete_model_version_tag(name, version, key)
    history = (mv.description or "").rstrip()
    if "## Promotion history" not in history:
        history += "\n\n## Promotion history\n"
    client.update_model_version(name, version, description=f"{history}\n{_history_line(record)}\n")


def _record(cfg: Config, mv, action: str, reviewer: str, note: str, previous: str, entry: dict, policy: str,
            **extra) -> dict:
    return signing.sign({
        "model": mv.name, "version": str(mv.version), "action": action, "reviewer": reviewer, "time": _now(),
        "note": note, "previous_champion": previous, "policy": policy, "audit_sha256": entry["sha256"],
        "eval_run_id": mv.tags.get(EVAL_RUN, ""), "dataset_digest": mv.tags.get(DIGEST_TAG, ""), **extra,
    })


def _pending(cfg: Config, mv, champion: str | None) -> dict | None:
    """A verified record on `mv` whose alias move never happened (the previous run stopped half-way)."""
    if RECORD_TAG not in mv.tags or ROLLED_BACK[0] in mv.tags:
        return None
    try:
        record = read_record(cfg, mv)
    except TunepipeError:
        return None
    start = record.get("rolled_back_from") if record["action"] == "rollback" else record["previous_champion"]
    return record if str(start) == str(champion or NONE) else None


def _move_alias(cfg: Config, client, mv, record: dict, log, resumed: bool) -> dict:
    alias = cfg.registry.champion_alias
    if resumed:
        log.append(actor=record["reviewer"], action=f"{record['action']}-completed", digest=record["dataset_digest"],
                   policy_version=record["policy"], note=f"alias moved after an interrupted {record['action']} "
                   f"(audit {record['audit_sha256'][:12]})", user=_login(), model=mv.name, version=mv.version)
    client.set_registered_model_alias(mv.name, alias, str(mv.version))
    _step("aliased")
    rollout = _rollout(cfg, mv.name, str(mv.version))
    return {**record, "alias": alias, "resumed": resumed, "rollout": rollout}


def _rollout(cfg: Config, name: str, version: str):
    if not cfg.registry.rollout_on_promote:
        return None
    from tunepipe.deploy.rollout import roll_production

    return roll_production(cfg, name, version)


def _interrupted_note(cfg: Config, mv) -> str:
    """Say which audit entry of an earlier attempt on `mv` never reached its tags, if any."""
    mine = [e for e in _entries(cfg) if e.get("model") == mv.name and str(e.get("version")) == str(mv.version)
            and e["action"] in ("promote", "auto-promote")]
    recorded = json.loads(mv.tags[RECORD_TAG]).get("audit_sha256") if RECORD_TAG in mv.tags else None
    if mine and mine[-1]["sha256"] != recorded:
        return f" (an earlier attempt at {mine[-1]['time'][:19]} stopped after its audit entry, before its tags)"
    return ""


def _entries(cfg: Config) -> list[dict]:
    from tunepipe.governance.audit import read_entries

    return read_entries(ledger.log_path(cfg))


def promote(cfg: Config, name: str, version: str | int, reviewer: str | None, note: str,
            auto_policy: str | None = None) -> dict:
    """Move `champion` to `name` v`version` after the checks above; returns the signed record."""
    client, auto = tracking.client(cfg), auto_policy is not None
    who = AUTO_ACTOR if auto else identity.resolve_reviewer(tracking.tracking_uri(cfg), reviewer, "a promotion")
    if not (note or "").strip() and not auto:
        raise TunepipeError("a promotion needs a note: pass --note TEXT (why this version should serve)")
    mv = get_version(client, name, str(version))
    with ledger.writing(cfg) as log:
        champion, _ = current_champion(cfg, client, name)
        pending = _pending(cfg, mv, champion)
        if pending is not None:
            return _move_alias(cfg, client, mv, pending, log, resumed=True)
        if champion == str(mv.version):
            raise TunepipeError(f"{name} v{mv.version} is already {cfg.registry.champion_alias}; nothing to do")
        action, policy = ("auto-promote", auto_policy) if auto else ("promote", HUMAN_POLICY)
        try:
            check_promotable(cfg, client, mv, who, champion, auto)
        except TunepipeError as err:
            log.append(actor=who, action=f"{action}-refused", digest=mv.tags.get(DIGEST_TAG, ""), policy_version=policy,
                       note=str(err), user=_login(), model=name, version=mv.version)
            raise
        _step("checked")
        interrupted = _interrupted_note(cfg, mv)
        _mlflow_call("promote", client.set_model_version_tag, name, str(mv.version), REQUESTED_TAG, f"{who} at {_now()}")
        _step("requested")
        entry = log.append(actor=who, action=action, digest=mv.tags.get(DIGEST_TAG, ""), policy_version=policy,
                           note=(note or "") + interrupted, user=_login(), model=name, version=mv.version)
        _step("audited")
        record = _record(cfg, mv, action, who, note or auto_policy, champion or NONE, entry, policy)
        _write_record(client, mv, record)
        _step("tagged")
        return {**_move_alias(cfg, client, mv, record, log, resumed=False), "found": interrupted.strip(" ()")}


def rollback(cfg: Config, name: str, reviewer: str | None, reason: str) -> dict:
    """Put `champion` back on the version that held it before the current one; returns the signed record."""
    client = tracking.client(cfg)
    who = identity.resolve_reviewer(tracking.tracking_uri(cfg), reviewer, "a rollback")
    if not (reason or "").strip():
        raise TunepipeError("a rollback needs a reason: pass --reason TEXT (what went wrong in production)")
    with ledger.writing(cfg) as log:
        champion, record = current_champion(cfg, client, name)
        if champion is None:
            raise TunepipeError(f"{name} has no {cfg.registry.champion_alias}: nothing to roll back "
                                f"(promote one: tunepipe promote {name} VERSION --reviewer NAME --note TEXT)")
        previous = record["previous_champion"]
        if previous == NONE:
            raise TunepipeError(f"{name} v{champion} is the first champion tunepipe recorded: there is no earlier one "
                                f"to roll back to; promote another version instead")
        target = get_version(client, name, previous)
        pending = _pending(cfg, target, champion)
        if pending is not None:
            return _move_alias(cfg, client, target, pending, log, resumed=True)
        earlier = read_record(cfg, target)
        _mlflow_call("roll back", client.set_model_version_tag, name, champion, REQUESTED_TAG, f"{who} at {_now()}")
        _step("requested")
        entry = log.append(actor=who, action="rollback", digest=target.tags.get(DIGEST_TAG, ""),
                           policy_version=HUMAN_POLICY, note=f"from v{champion}: {reason}", user=_login(),
                           model=name, version=previous)
        _step("audited")
        new = _record(cfg, target, "rollback", who, reason, earlier["previous_champion"], entry, HUMAN_POLICY,
                      rolled_back_from=champion)
        _write_record(client, target, new)
        for key, value in zip(ROLLED_BACK, (who, new["time"], reason)):
            client.set_model_version_tag(name, champion, key, value)
        _step("tagged")
        return _move_alias(cfg, client, target, new, log, resumed=False)


def auto_promote(cfg: Config, name: str, version: str) -> dict | None:
    """With `registry.auto_promote`, promote a freshly registered version under that policy.

    A refusal is returned (and audited), not raised: the version stays a candidate for human review.
    """
    if not cfg.registry.auto_promote:
        return None
    policy = (f"{AUTO_ACTOR}=true: eval gate passed against the current champion, dataset approved "
              f"(registry.four_eyes does not apply)")
    try:
        return promote(cfg, name, version, None, "", auto_policy=policy)
    except TunepipeError as err:
        return {"refused": str(err)}
