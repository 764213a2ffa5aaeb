"""Raw text that stages before the PII step show or keep: example texts redacted first, raw tables marked.

The stages before PII (ingest, clean, dedup, the data card) hold the input as it came. Whatever of it
they put into a report, a summary, a step output or a log (the dedup cluster examples, the data card
built from them) goes through `redact_examples` first: the same Presidio detection and the same
configured policy as the PII stage. Hashing needs the salt, which on a cluster only the PII step's pod
receives; where it is absent, hashed entities are shown as their placeholder, which reveals less.
`drop` shows the placeholder too, as the PII stage does for the rows it removes.

Tables that must keep raw text (the ingest quarantine, the pre-PII datasets and removed tables) carry
`SENSITIVE` in their `_tunepipe.json`; the ingest quarantine goes to MLflow only when
`pii.keep_raw_quarantine` is set (`log_raw_quarantine`), and then with the run tagged as holding raw text.
"""

from __future__ import annotations

import os
from dataclasses import replace

from tunepipe.config import Config
from tunepipe.pii.policy import Policy

SENSITIVE_KEY = "sensitive"
SENSITIVE = {SENSITIVE_KEY: "raw input text from before PII redaction: keep out of reports, logs and MLflow"}
SENSITIVE_TAG = "tunepipe.raw_text_artifacts"


def example_policy(cfg: Config) -> Policy:
    """The configured policy, with `hash` shown as placeholder when this step has no salt."""
    plain = Policy(cfg.pii.default_action, tuple(sorted(cfg.pii.actions.items())), cfg.pii.mask_char)
    if plain.uses("hash") and not os.environ.get(cfg.pii.salt_env):
        swap = lambda a: "placeholder" if a == "hash" else a  # noqa: E731
        return replace(plain, default_action=swap(plain.default_action),
                       actions=tuple((e, swap(a)) for e, a in plain.actions))
    return Policy.from_config(cfg)


def redact_examples(cfg: Config, texts: list[str]) -> list[str]:
    """`texts` with the PII the stage would find redacted by the configured policy (as they are when PII is off)."""
    from tunepipe.pii.detect import PiiSettings, check_settings
    from tunepipe.pii.stage import redact_texts

    if not cfg.pii.enabled or not any(isinstance(t, str) and t.strip() for t in texts):
        return list(texts)
    check_settings(cfg)
    redacted, _ = redact_texts(list(texts), PiiSettings.from_config(cfg), example_policy(cfg))
    return redacted


def mark_sensitive(summary: dict) -> dict:
    """`summary` marked as the summary of a table that holds raw text."""
    return {**summary, **SENSITIVE}


def log_raw_quarantine(cfg: Config, quarantine_dir: str) -> bool:
    """Log the quarantine table to the active MLflow run only when `pii.keep_raw_quarantine` allows it."""
    import sys

    mlflow = sys.modules.get("mlflow")
    if not cfg.pii.keep_raw_quarantine or mlflow is None or mlflow.active_run() is None:
        return False
    mlflow.log_artifacts(quarantine_dir, "quarantine")
    mlflow.set_tag(SENSITIVE_TAG, "quarantine (pii.keep_raw_quarantine is set)")
    return True
