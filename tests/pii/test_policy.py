"""The redaction policy: placeholder, mask, salted hash and drop through Presidio's anonymizer; salt handling."""

from __future__ import annotations

import pickle
import re

import pytest
from presidio_analyzer import RecognizerResult

from tunepipe.errors import TunepipeError
from tunepipe.pii.policy import Policy, derive_key, normalise, policy_version, pseudonym

SALT = "pepper-for-tests-0123456789abcdef"
TEXT = "John Smith, john.smith@example.com, (212) 555-0143, SSN 536-22-1234"
SPANS = [
    RecognizerResult("PERSON", 0, 10, 0.85),
    RecognizerResult("EMAIL_ADDRESS", 12, 34, 1.0),
    RecognizerResult("PHONE_NUMBER", 36, 50, 0.75),
    RecognizerResult("US_SSN", 56, 67, 0.85),
]


def policy(cfg, environ=None, **pii) -> Policy:
    for key, value in pii.items():
        setattr(cfg.pii, key, value)
    return Policy.from_config(cfg, environ={"TUNEPIPE_PII_SALT": SALT} if environ is None else environ)


def test_each_action_is_applied_per_entity_type(cfg):
    p = policy(cfg, actions={"EMAIL_ADDRESS": "hash", "PHONE_NUMBER": "mask", "US_SSN": "drop"}, mask_char="#")
    text, applied = p.redact(TEXT, SPANS)
    email = pseudonym(derive_key(SALT), "EMAIL_ADDRESS", "john.smith@example.com")
    assert text == f"<PERSON>, {email}, ##############, SSN <US_SSN>"
    assert re.fullmatch(r"<EMAIL_ADDRESS_[0-9a-f]{12}>", email)
    assert sorted(applied) == [("EMAIL_ADDRESS", "hash"), ("PERSON", "placeholder"), ("PHONE_NUMBER", "mask"),
                               ("US_SSN", "drop")]


def test_default_action_covers_unlisted_entities(cfg):
    p = policy(cfg, default_action="mask", actions={"PERSON": "placeholder"})
    text, _ = p.redact(TEXT, SPANS)
    assert text == "<PERSON>, **********************, **************, SSN ***********"
    assert p.redact("nothing here", []) == ("nothing here", [])


def test_pseudonyms_are_consistent_within_a_dataset_and_depend_on_the_salt():
    key = derive_key(SALT)
    assert pseudonym(key, "PHONE_NUMBER", "(212) 555-0143") == pseudonym(key, "PHONE_NUMBER", "212.555.0143")
    assert pseudonym(key, "PERSON", "John Smith") == pseudonym(key, "PERSON", "JOHN  SMITH")
    assert pseudonym(key, "PERSON", "John Smith") != pseudonym(key, "PERSON", "Jane Smith")
    assert pseudonym(key, "PERSON", "Jordan") != pseudonym(key, "LOCATION", "Jordan")
    assert pseudonym(key, "PERSON", "John Smith") != pseudonym(derive_key(SALT + "x"), "PERSON", "John Smith")
    assert normalise("ＪＯＨＮ@Example.com") == "john@example.com"


def test_hash_needs_a_salt_before_any_work(cfg):
    with pytest.raises(TunepipeError, match="TUNEPIPE_PII_SALT.*not set"):
        policy(cfg, environ={}, actions={"PERSON": "hash"})
    with pytest.raises(TunepipeError, match="MY_SALT.*at least 16"):
        policy(cfg, environ={"MY_SALT": "short"}, default_action="hash", salt_env="MY_SALT")
    assert policy(cfg, environ={}, default_action="placeholder", actions={"PERSON": "mask"}).key == b""


def test_actions_must_name_detected_entities(cfg):
    with pytest.raises(TunepipeError, match="EMAIL_ADRESS"):
        policy(cfg, actions={"EMAIL_ADRESS": "hash"})


def test_the_salt_is_never_in_the_policy_shown_or_shipped_to_workers(cfg):
    p = policy(cfg, actions={"PERSON": "hash"})
    shipped = pickle.dumps(p)
    assert SALT not in repr(p) and SALT.encode() not in shipped
    assert p.key.hex() not in repr(p)
    assert pickle.loads(shipped) == p


def test_policy_version_fingerprints_pii_and_rai_config_but_not_the_salt(cfg, monkeypatch):
    version = policy_version(cfg)
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    monkeypatch.setenv("TUNEPIPE_PII_SALT", SALT)
    assert policy_version(cfg) == version
    cfg.pii.actions = {"PERSON": "hash"}
    assert policy_version(cfg) != version
    cfg.pii.actions = {}
    cfg.rai.toxicity.threshold = 0.9
    assert policy_version(cfg) != version


def test_policy_version_is_the_one_approvals_bind(cfg):
    from tunepipe.governance import approval

    cfg.pii.actions = {"PERSON": "hash"}
    cfg.rai.blocked_terms.terms = ["Projekt Falke", "café"]
    assert policy_version(cfg) == approval.policy_version(cfg)
