"""Redaction policy: what happens to each entity type that PII detection finds.

`pii.actions` maps an entity type to an action and `pii.default_action` covers the rest:

- placeholder: the span becomes its type, `<PERSON>`;
- mask: the span becomes as many `pii.mask_char` as it had characters, `**********`;
- hash: the span becomes a salted pseudonym, `<PERSON_3f2a9c1b07de>`: HMAC-SHA256 over the entity
  type and the normalised value, so the same person gets the same pseudonym everywhere in a
  dataset (and across runs with the same salt) while the value cannot be recovered or guessed
  without the salt;
- drop: the whole record leaves the dataset (reason `pii_drop:<ENTITY>`); its text, kept for the
  reviewer, shows the span as a placeholder.

Presidio's AnonymizerEngine applies the spans (replace, mask and custom operators), which resolves
overlapping spans. The salt comes from the environment variable named by `pii.salt_env` and is
required, before any work starts, only when some entity is hashed. In Kubernetes that variable comes
from a Secret (`env[].valueFrom.secretKeyRef`; with kfp-kubernetes:
`kubernetes.use_secret_as_env(task, secret_name="tunepipe-pii-salt",
secret_key_to_env={"salt": "TUNEPIPE_PII_SALT"})`). The salt never enters the config, logs,
summaries or artifacts: workers receive only a key derived from it, which `Policy` never prints.

`policy_version(cfg)` fingerprints the `pii` and `rai` config sections, so an approval of a
redacted dataset can be bound to the policy that produced it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache, partial

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

ACTIONS = ("placeholder", "mask", "hash", "drop")
SECRET = "SECRET"
MIN_SALT_CHARS = 16
PSEUDONYM_HEX = 12
_KEY_CONTEXT = b"tunepipe pii pseudonym key v1\x00"
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.()/]+")


@dataclass(frozen=True)
class Policy:
    """Per-entity actions, picklable for Spark workers; `key` is derived from the salt and never shown."""

    default_action: str = "placeholder"
    actions: tuple[tuple[str, str], ...] = ()
    mask_char: str = "*"
    key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_config(cls, cfg: Config, environ: dict | None = None) -> "Policy":
        """The configured policy; raises TunepipeError when `hash` is used and the salt is missing."""
        p = cfg.pii
        check_actions(cfg)
        policy = cls(p.default_action, tuple(sorted(p.actions.items())), p.mask_char)
        if policy.uses("hash"):
            salt = (os.environ if environ is None else environ).get(p.salt_env, "")
            _check_salt(salt, p.salt_env)
            policy = cls(policy.default_action, policy.actions, policy.mask_char, derive_key(salt))
        return policy

    def action(self, entity_type: str) -> str:
        return dict(self.actions).get(entity_type, self.default_action)

    def uses(self, action: str) -> bool:
        return self.default_action == action or any(a == action for _, a in self.actions)

    def operator(self, entity_type: str):
        """The Presidio OperatorConfig that carries out this entity type's action."""
        from presidio_anonymizer.entities import OperatorConfig

        action = "placeholder" if entity_type == SECRET else self.action(entity_type)
        if action == "mask":
            return OperatorConfig("mask", {"masking_char": self.mask_char, "chars_to_mask": 2**31 - 1,
                                           "from_end": False})
        if action == "hash":
            return OperatorConfig("custom", {"lambda": partial(pseudonym, self.key, entity_type)})
        return OperatorConfig("replace", {"new_value": f"<{entity_type}>"})

    def redact(self, text: str, results: list) -> tuple[str, list[tuple[str, str]]]:
        """`text` with the policy applied to Presidio `results`; and (entity_type, action) per span applied."""
        if not results:
            return text, []
        operators = {t: self.operator(t) for t in {r.entity_type for r in results}}
        out = anonymizer().anonymize(text=text, analyzer_results=results, operators=operators)
        return out.text, [(item.entity_type, self._label(item.entity_type)) for item in out.items]

    def _label(self, entity_type: str) -> str:
        return "placeholder" if entity_type == SECRET else self.action(entity_type)


@lru_cache(maxsize=1)
def anonymizer():
    """One Presidio AnonymizerEngine per process (cheap; needs no NLP model)."""
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def derive_key(salt: str) -> bytes:
    """The HMAC key for pseudonyms: a one-way function of the salt, so workers never hold the salt."""
    return hashlib.sha256(_KEY_CONTEXT + salt.encode("utf-8")).digest()


def normalise(value: str) -> str:
    """The form of a value that is hashed: case, width and separators do not change a pseudonym.

    "(212) 555-0143" and "212.555.0143", or "John Smith" and "JOHN SMITH", give the same
    pseudonym; values with other punctuation (emails, "O'Brien") keep it.
    """
    text = unicodedata.normalize("NFKC", value).casefold().strip()
    compact = _SEPARATORS.sub("", text)
    return compact if compact.isalnum() else " ".join(text.split())


def pseudonym(key: bytes, entity_type: str, value: str) -> str:
    """`<ENTITY_hex>`: HMAC-SHA256(key, entity type + normalised value), truncated."""
    digest = hmac.new(key, f"{entity_type}\x1f{normalise(value)}".encode("utf-8"), hashlib.sha256)
    return f"<{entity_type}_{digest.hexdigest()[:PSEUDONYM_HEX]}>"


def _check_salt(salt: str, env: str) -> None:
    if not salt:
        raise TunepipeError(
            f"the PII policy hashes entities (pii.default_action / pii.actions use 'hash') but the "
            f"environment variable {env} (pii.salt_env) is not set. Set it to a random secret of at "
            f"least {MIN_SALT_CHARS} characters (e.g. export {env}=$(openssl rand -hex 32)); on "
            "Kubernetes inject it from a Secret with secretKeyRef. Keep it stable: pseudonyms stay "
            "the same only under the same salt. Never put it in the config file."
        )
    if len(salt) < MIN_SALT_CHARS:
        raise TunepipeError(
            f"the salt in {env} (pii.salt_env) has {len(salt)} characters; use at least "
            f"{MIN_SALT_CHARS} (e.g. openssl rand -hex 32) so pseudonyms cannot be brute-forced"
        )


def check_actions(cfg: Config) -> None:
    """pii.actions may only name entity types that detection can report."""
    known = set(cfg.pii.entities) | {r.entity for r in cfg.pii.custom_recognizers}
    unknown = sorted(set(cfg.pii.actions) - known)
    if unknown:
        raise TunepipeError(
            f"pii.actions names {', '.join(unknown)}, which pii.entities (and pii.custom_recognizers) "
            f"do not detect. Detected: {', '.join(sorted(known))}. Fix the name or add it to pii.entities."
        )


def policy_version(cfg: Config) -> str:
    """First 16 hex of sha256 over the `pii` and `rai` config sections (which never hold the salt)."""
    sections = {"pii": cfg.pii.model_dump(mode="json"), "rai": cfg.rai.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(sections, sort_keys=True).encode()).hexdigest()[:16]
