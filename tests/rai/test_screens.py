"""RAI screens with the real libraries: detect-secrets plugins, alt-profanity-check's model, blocked terms."""

from __future__ import annotations

import time

import pytest
from presidio_analyzer import RecognizerResult

from tunepipe.pii.policy import SECRET, Policy
from tunepipe.rai.screens import ScreenSettings, blocked_pattern, find_secrets, screen_rows, toxicity_scores

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
       "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n"
       "-----END RSA PRIVATE KEY-----")
SECRETS = {
    "AWS Access Key": ("Our key is {} and it fails.", "AKIAIOSFODNN7EXAMPLE"),
    "GitHub Token": ("token: {}", "ghp_" + "a1B2c3D4e5" * 3 + "F6g7h8"),
    "Slack Token": ("hook {} broke", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    "Stripe Access Key": ("charge with {} please", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    "Basic Auth Credentials": ("db at postgres://admin:{}@db.internal:5432/prod", "hunter2sEcret"),
    "JSON Web Token": ("curl -H 'Authorization: Bearer {}' https://api", JWT),
    "Bearer Token": ("Authorization: Bearer {}", "mF_9.B5f-4.1JqM9xZa0kP7"),
    "Secret Keyword": ('config has password = "{}" in it', "hunter2-Prod!"),
    "Private Key": ("Here is my key:\n{}\nwhat now?", PEM),
}
CLEAN = [
    "How do I reset my password? Forgot password: click the link in the email.",
    "Click 'Forgot password' and follow the steps.",
    "Order 4815162342 shipped; tracking id 1Z999AA10123456784.",
    "Request id 123e4567-e89b-12d3-a456-426614174000 failed with HTTP 502.",
    "The API key setting is under Admin > Security > Keys.",
    'Set password = "${DB_PASSWORD}" in the template, never the real value.',
    "Commit 3f2a9c1bdeadbeef3f2a9c1bdeadbeef3f2a9c1b broke the build.",
]


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_secrets_are_found_with_their_whole_span(kind):
    template, secret = SECRETS[kind]
    text = template.format(secret)
    found = find_secrets(text)
    assert kind in {s.kind for s in found}
    redacted, _ = Policy().redact(text, [RecognizerResult(SECRET, s.start, s.end, 1.0) for s in found])
    assert redacted == template.format("<SECRET>")


def test_ordinary_support_text_holds_no_secrets():
    assert {t: find_secrets(t) for t in CLEAN} == {t: [] for t in CLEAN}


def test_toxicity_scores_come_from_an_offline_model():
    scores = toxicity_scores(["You are a fucking idiot", "This shit never works", "Thanks, that fixed it!",
                              "How do I export my invoices?", None, ""])
    assert scores[0] > 0.9 and scores[1] > 0.9
    assert max(scores[2:4]) < 0.2 and scores[4:] == [0.0, 0.0]


def test_blocked_terms_match_whole_words_case_insensitively():
    pattern = blocked_pattern(("Project Falcon", "acme"))
    assert pattern.findall("ACME's project  FALCON, acme.") == ["ACME", "project  FALCON", "acme"]
    assert pattern.findall("acmes and Acme-Corp falcon") == ["Acme"]


def test_screen_rows_flag_with_details_that_never_show_a_secret():
    settings = ScreenSettings("quarantine", "flag", 0.5, "drop", ("Project Falcon",))
    aws = SECRETS["AWS Access Key"][1]
    rows = screen_rows({
        "prompt": [f"my key {aws}", "you stupid fucking bot", "ask about project falcon", "hello", None],
        "response": ["rotate it", "", "We cannot discuss Project Falcon.", "hi", 42],
    }, settings)
    assert [sorted(r.flags) for r in rows] == [["secret"], ["toxicity"], ["blocked_term"], [], []]
    assert rows[0].flags["secret"] == "AWS Access Key in prompt" and aws not in str(rows[0].flags)
    assert rows[0].secrets["prompt"][0].kind == "AWS Access Key"
    assert rows[1].flags["toxicity"].startswith("toxicity 1.00 >= rai.toxicity.threshold 0.5 in prompt")
    assert rows[2].flags["blocked_term"] == "project falcon in prompt; project falcon in response"
    assert [settings.action(f) for f in ("secret", "toxicity", "blocked_term")] == ["quarantine", "flag", "drop"]


def test_disabled_screens_flag_nothing(cfg):
    cfg.rai.secrets.enabled = cfg.rai.toxicity.enabled = False
    cfg.rai.blocked_terms.terms = ["acme"]
    cfg.rai.blocked_terms.enabled = False
    settings = ScreenSettings.from_config(cfg)
    assert not settings.enabled
    rows = screen_rows({"prompt": ["fucking acme key AKIAIOSFODNN7EXAMPLE"]}, settings)
    assert rows[0].flags == {} and rows[0].secrets == {}


def test_odd_input_gives_no_crash_and_bounded_time():
    odd = ["", "   ", "\u200f\u202eHello, where is my parcel?\u202c \u200d👩\u200d💻 emoji 🎉", "مرحبا، كيف حالك؟",
           "日本語のテキスト", "\x00\x01\x02", "a" * 1_000_000, ("line with 'quote' and password\n" * 30_000), 3.5,
           None, b"bytes"]
    settings = ScreenSettings("quarantine", "flag", 0.5, "flag", ("acme",))
    start = time.perf_counter()
    rows = screen_rows({"prompt": odd}, settings)
    assert time.perf_counter() - start < 60
    assert [r.flags for r in rows] == [{}] * len(odd)
