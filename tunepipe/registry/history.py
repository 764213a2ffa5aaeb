"""What a registry reviewer reads: versions with their gate, metrics, data, approval and promotions.

`list_versions` is the table of `tunepipe models list`; `show` is the lineage of one version
(data digest -> approval -> training run -> evaluation -> version -> promotions, from the audit log)
for `tunepipe models show NAME@ALIAS | NAME/VERSION`.
"""

from __future__ import annotations

import re

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.governance import approval, ledger
from tunepipe.governance.audit import read_entries
from tunepipe.registry import promotion as p

_VS = ".vs_champion"


def _metrics(tags: dict) -> dict:
    """`tunepipe.eval.<metric>` -> (value, change vs champion or None)."""
    out = {}
    for key, value in tags.items():
        if key.startswith("tunepipe.eval.") and not key.endswith(_VS):
            metric = key[len("tunepipe.eval."):]
            if metric not in ("gate", "run_id", "champion_version", "test_digest"):
                out[metric] = (value, tags.get(key + _VS))
    return out


def _row(mv) -> dict:
    tags = mv.tags
    return {
        "name": mv.name, "version": str(mv.version), "aliases": list(mv.aliases or []),
        "gate": tags.get(p.EVAL_GATE, "n/a"), "evaluated_against": tags.get(p.EVAL_CHAMPION, "n/a"),
        "metrics": _metrics(tags), "dataset_digest": tags.get(p.DIGEST_TAG, ""),
        "approved_by": tags.get(p.APPROVER_TAG, ""), "created_by": mv.user_id or "",
        "created": mv.creation_timestamp, "promoted_by": tags.get(p.PROMOTED_BY, ""),
        "promoted_at": tags.get(p.PROMOTED_AT, ""), "rolled_back_by": tags.get(p.ROLLED_BACK[0], ""),
    }


def list_versions(cfg: Config, name: str | None = None) -> list[dict]:
    """Every version (of `name`, or of all models), newest first."""
    client = tracking.client(cfg)
    filter_string = f"name = '{name}'" if name else ""
    versions = client.search_model_versions(filter_string, max_results=1000)
    return sorted((_row(mv) for mv in versions), key=lambda r: (r["name"], -int(r["version"])))


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """NAME@ALIAS or NAME/VERSION (with or without models:/) -> (name, alias, version)."""
    ref = ref.removeprefix("models:/")
    if "@" in ref:
        name, alias = ref.rsplit("@", 1)
        return name, alias, None
    match = re.fullmatch(r"(.+)/(\d+)", ref)
    if not match:
        raise TunepipeError(f"{ref!r}: give NAME@ALIAS (e.g. my-model@champion) or NAME/VERSION (e.g. my-model/3)")
    return match.group(1), None, match.group(2)


def _ui_link(cfg: Config, name: str, version: str) -> str:
    uri = tracking.tracking_uri(cfg)
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/models/{name}/versions/{version}"
    return f"mlflow ui --backend-store-uri {uri}  then /#/models/{name}/versions/{version}"


def show(cfg: Config, ref: str) -> dict:
    """The lineage of one version, with its promotions from the audit log and the champion check."""
    client = tracking.client(cfg)
    name, alias, version = parse_ref(ref)
    if alias is not None:
        version = p.champion_version(client, name, alias)
        if version is None:
            raise TunepipeError(f"{name} has no alias {alias}: see `tunepipe models list {name}`")
    mv = p.get_version(client, name, version)
    digest = mv.tags.get(p.DIGEST_TAG, "")
    status = approval.approval_status(cfg, digest) if digest else None
    entries = [e for e in read_entries(ledger.log_path(cfg))
               if e.get("model") == name and str(e.get("version")) == str(mv.version)]
    try:
        record, record_state = p.read_record(cfg, mv), "verified"
    except TunepipeError as err:
        record, record_state = None, str(err)
    return {
        **_row(mv), "dataset_approval": status, "training_run_id": mv.tags.get("tunepipe.training_run_id", ""),
        "evaluation_run_id": mv.tags.get(p.EVAL_RUN, ""), "test_digest": mv.tags.get(p.EVAL_TEST, ""),
        "register_run_id": mv.run_id, "source": mv.source, "promotion_record": record,
        "promotion_record_state": record_state, "audit": entries, "ui": _ui_link(cfg, name, str(mv.version)),
    }
