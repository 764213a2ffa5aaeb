"""The registered model's current champion, which every candidate is compared with on the same rows.

The alias is resolved to a version once (`models:/NAME/VERSION` from then on), so the champion cannot move
during an evaluation. MLflow drops an alias together with its version, so a champion deleted from the
registry looks like "no champion"; the governance audit log still says who was promoted last, and an
evaluation refuses to treat that as a first run.
"""

from __future__ import annotations

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

CHAMPION_ACTIONS = ("promote", "auto-promote", "rollback", "promote-completed", "auto-promote-completed",
                    "rollback-completed")


def resolve_champion(cfg: Config) -> dict | None:
    """{"ref": "NAME vN", "version": "N", "uri": "models:/NAME/N"} of the champion, or None on a first run."""
    from mlflow.exceptions import MlflowException

    client = tracking.client(cfg)
    name, alias = cfg.registry.model_name, cfg.registry.champion_alias
    try:
        version = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        _refuse_if_deleted(cfg, client, name)
        return None
    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise TunepipeError(f"alias {alias} of {name} points at v{version}, which is not in the registry (deleted): "
                            f"promote another version (tunepipe promote {name} VERSION) or roll back") from None
    return {"ref": f"{name} v{version}", "version": version, "uri": f"models:/{name}/{version}"}


def _refuse_if_deleted(cfg: Config, client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    last = last_promoted(cfg, name)
    if last is None:
        return
    try:
        client.get_model_version(name, last["version"])
    except MlflowException:
        raise TunepipeError(
            f"the champion of {name} (v{last['version']}, {last['action']} by {last['actor']} at {last['time'][:19]}) "
            f"was deleted from the registry: promote another version (tunepipe promote {name} VERSION) so that "
            "candidates are compared with the model in production") from None


def last_promoted(cfg: Config, name: str) -> dict | None:
    """The audit log's last entry that made a version of `name` champion."""
    from tunepipe.governance import ledger
    from tunepipe.governance.audit import read_entries

    path = ledger.log_path(cfg)
    if not path.is_file():
        return None
    entries = [e for e in read_entries(path) if e.get("model") == name and e.get("action") in CHAMPION_ACTIONS]
    return entries[-1] if entries else None


def note(cfg: Config, champion: dict | None) -> str:
    if champion is None:
        return (f"no {cfg.registry.champion_alias} of {cfg.registry.model_name} yet (first run): "
                "compared with base only")
    return f"compared with base and with the {cfg.registry.champion_alias}, {champion['ref']}"
