"""Webhook notifications: a Slack-compatible JSON POST (`{"text": ...}`) when a run ends awaiting approval,
when a candidate awaits promotion, when a run fails (and, if asked, when it found no change).

The URL is a secret (a Slack webhook's path is its token): it comes from `notify.webhook_url_env` (on a
cluster mounted from the Kubernetes Secret `notify.webhook_secret`), or `notify.webhook_url`, and never
appears in a log line or a message. Messages carry digests, versions, commands and run ids, never rows
of data or error texts (which may quote them). A webhook that fails or times out is logged as a
warning and never changes how the run ends.
"""

from __future__ import annotations

import logging
import os
import re

from tunepipe.config import Config

log = logging.getLogger(__name__)


def webhook_url(cfg: Config) -> str | None:
    return os.environ.get(cfg.notify.webhook_url_env) or cfg.notify.webhook_url or None


def send(cfg: Config, event: str, text: str) -> bool:
    """POST `{"text": text}` for `event` if a webhook is configured for it; True when it was delivered."""
    import requests

    url = webhook_url(cfg)
    if not url or event not in cfg.notify.events:
        return False
    try:
        requests.post(url, json={"text": text}, timeout=cfg.notify.timeout_s).raise_for_status()
    except requests.RequestException as err:
        status = getattr(err.response, "status_code", None)
        log.warning("webhook notification '%s' not delivered (%s%s); the run's outcome is unchanged",
                    event, type(err).__name__, f" {status}" if status else "")
        return False
    log.info("webhook notification '%s' delivered", event)
    return True


def _prefix(cfg: Config) -> str:
    return f"[tunepipe {cfg.project.name}]"


def awaiting_approval(cfg: Config, digest: str) -> bool:
    from tunepipe.governance.approval import approve_command, show_command

    how = "the run stopped" if cfg.approval.mode == "stop" else \
        f"the run waits up to {cfg.approval.timeout_s:.0f} s"
    return send(cfg, "awaiting_approval", f"{_prefix(cfg)} dataset {digest} is awaiting approval ({how}). "
                f"Review: `{show_command(digest)}`, then `{approve_command(digest)}`")


def awaiting_promotion(cfg: Config, registered: dict) -> bool:
    name, version = registered["name"], registered["version"]
    return send(cfg, "awaiting_promotion", f"{_prefix(cfg)} candidate {name} version {version} passed the eval "
                f"gate and awaits promotion: `tunepipe models show {name}/{version}`, then "
                f"`tunepipe promote {name} {version} --reviewer NAME --note TEXT`")


def no_change(cfg: Config, version: dict) -> bool:
    return send(cfg, "no_change", f"{_prefix(cfg)} no change: the data is approved and {version['name']} "
                f"version {version['version']} was trained on it with this config")


def failed(cfg: Config, error: str, parent_run_id: str = "") -> bool:
    """A failed run, named by its stage only: error texts can quote data."""
    match = re.search(r"stage '([\w-]+)' failed", error or "")
    where = f"in stage '{match.group(1)}'" if match else "before or between stages"
    run = f" (MLflow run {parent_run_id})" if parent_run_id else ""
    return send(cfg, "failed", f"{_prefix(cfg)} pipeline run failed {where}{run}; its log and MLflow run say why")


def run_failed(cfg: Config, error: str, parent_run_id: str = "") -> bool:
    """The local runner's failure hook: an approval gate awaiting approval was announced by the change step."""
    if "awaiting approval" in (error or "") and "stage 'approval_gate'" in (error or ""):
        return False
    return failed(cfg, error, parent_run_id)
