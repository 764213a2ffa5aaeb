"""The project's one audit log: where it is, its anchor in MLflow, and checks on the decisions it holds.

Dataset decisions (`approval`) and registry decisions (`tunepipe.registry.promotion`) append to the
same log (`approval.audit_log`, default `<data_dir>/audit.jsonl`). The anchor (entry count and head
hash, signed when a decision key is set) is a tag of the review experiment, one per log path, written
under the log's lock after every append: a log cut short or rewritten with a recomputed chain no
longer reaches it. A pod of a compiled pipeline refuses the default path, which is pod-local.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.governance import audit, signing

ANCHOR_TAG = "tunepipe.governance.anchor"
IN_CLUSTER_ENV = "KFP_POD_NAME"


def log_path(cfg: Config) -> Path:
    return Path(cfg.approval.audit_log) if cfg.approval.audit_log else cfg.data_dir / "audit.jsonl"


def require_shared(cfg: Config) -> None:
    """Refuse the pod-local default log where the run is a Kubeflow pod (or `compiled` says it will be)."""
    if cfg.approval.audit_log and Path(cfg.approval.audit_log).is_absolute():
        return
    raise TunepipeError(
        f"approval.audit_log is {cfg.approval.audit_log or 'unset'}: in a compiled pipeline every pod would write "
        "its own throwaway log. Set approval.audit_log to an absolute path on a volume every pod and reviewer "
        "mounts (ReadWriteMany), e.g. /mnt/governance/audit.jsonl"
    )


def _tag(path: Path) -> str:
    return f"{ANCHOR_TAG}.{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"


def _experiment(cfg: Config) -> str:
    return tracking.ensure_experiment(cfg, tracking.REVIEW_EXPERIMENT)


def _anchor_writer(cfg: Config, path: Path):
    client, exp_id, tag = tracking.client(cfg), _experiment(cfg), _tag(path)

    def write(entries: int, head: str) -> None:
        value = signing.sign({"entries": entries, "head": head, "log": str(path)})
        client.set_experiment_tag(exp_id, tag, json.dumps(value, sort_keys=True))

    return write


def read_anchor(cfg: Config) -> tuple[int, str] | None:
    path = log_path(cfg)
    raw = tracking.client(cfg).get_experiment(_experiment(cfg)).tags.get(_tag(path))
    if raw is None:
        return None
    value = json.loads(raw)
    signing.verify(value, f"the anchor of audit log {path} (experiment tag {_tag(path)})")
    return int(value["entries"]), value["head"]


def writing(cfg: Config):
    """`with writing(cfg) as log: log.append(...)`: the project's log, locked, anchored on every append."""
    if os.environ.get(IN_CLUSTER_ENV):
        require_shared(cfg)
    tracking.setup_mlflow(cfg)
    path = log_path(cfg)
    return audit.locked(path, _anchor_writer(cfg, path))


def append(cfg: Config, **fields) -> dict:
    with writing(cfg) as log:
        return log.append(**fields)


def verify(cfg: Config) -> dict:
    """The chain and the anchor of the project's log (a log with entries but no anchor is refused)."""
    path, anchor = log_path(cfg), read_anchor(cfg)
    result = audit.verify_audit_log(path, anchor)
    if anchor is None and result["entries"]:
        raise TunepipeError(f"audit log {path} has {result['entries']} entries but no anchor in MLflow "
                            f"(experiment tag {_tag(path)}): it was deleted, or the log was written around tunepipe")
    return result


def require_entry(cfg: Config, sha256: str, what: str, **expected) -> dict:
    """The verified log's entry that hashes to `sha256` and has the `expected` fields; raises naming `what`."""
    result = verify(cfg)
    if sha256 not in result["hashes"]:
        raise TunepipeError(f"{what} records audit entry {str(sha256)[:12]}, which is not in the audit log "
                            f"{result['path']}: the log was replaced or the record forged")
    entry = audit.read_entries(result["path"])[result["hashes"].index(sha256)]
    wrong = [k for k, v in expected.items() if str(entry.get(k)) != str(v)]
    if wrong:
        raise TunepipeError(f"{what} does not match its audit entry {sha256[:12]} ({', '.join(wrong)} differ): "
                            "the record was edited")
    return entry
