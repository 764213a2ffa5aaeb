"""PII redaction with a real Presidio engine, in-process and through a real local Spark session."""

from __future__ import annotations

import pytest

from tunepipe import artifacts, tracking
from tunepipe.digest import pandas_digest
from tunepipe.errors import TunepipeError
from tunepipe.rai.pii import PiiSettings, check_settings, redact_pii, redact_texts

RAW = "Hi, I'm John Smith, email john.smith@example.com, call me at (212) 555-0143. Card 4111 1111 1111 1111, IP 192.168.10.25."
REDACTED = "Hi, I'm <PERSON>, email <EMAIL_ADDRESS>, call me at <PHONE_NUMBER>. Card <CREDIT_CARD>, IP <IP_ADDRESS>."


def luhn_complete(digits: str) -> str:
    """`digits` plus the check digit that makes it pass the Luhn test."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


def test_presidio_replaces_entities_with_typed_placeholders(cfg):
    texts, found = redact_texts([RAW, None, "", "How do I reset my password?"], PiiSettings.from_config(cfg))
    assert texts == [REDACTED, None, "", "How do I reset my password?"]
    assert found == [{"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS"}, set(), set(), set()]


def test_entities_and_allow_list_limit_what_is_redacted(cfg):
    cfg.pii.entities = ["EMAIL_ADDRESS", "PERSON"]
    cfg.pii.allow_list = ["John Smith"]
    (text,), (found,) = redact_texts([RAW], PiiSettings.from_config(cfg))
    assert text == RAW.replace("john.smith@example.com", "<EMAIL_ADDRESS>")
    assert found == {"EMAIL_ADDRESS"}


def test_extra_recognizers_catch_what_presidio_defaults_miss(cfg):
    card = luhn_complete("222100000000123")
    spaced = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    texts = [
        f"New card number {spaced}, expiry 04/29",
        "Best number: 593.291.0316x828 or +1-932-301-7601, office (00317) 744526",
        "Ship it to 42 Elm Street, Apt 5 please",
        "Hi Amber, your invoice is ready.",
        "Our dashboards time out.\nThanks!\nDesiree Mays",
        f"Order {card[:-1]}{(int(card[-1]) + 1) % 10} failed",
    ]
    out, found = redact_texts(texts, PiiSettings.from_config(cfg))
    assert out[:5] == [
        "New card number <CREDIT_CARD>, expiry 04/29",
        "Best number: <PHONE_NUMBER> or <PHONE_NUMBER>, office <PHONE_NUMBER>",
        "Ship it to <LOCATION> please",
        "Hi <PERSON>, your invoice is ready.",
        "Our dashboards time out.\nThanks!\n<PERSON>",
    ]
    assert "CREDIT_CARD" not in found[5]


def test_check_settings_names_unknown_entities_and_missing_models(cfg):
    cfg.pii.entities = ["EMAIL_ADRESS"]
    with pytest.raises(TunepipeError, match="EMAIL_ADRESS"):
        check_settings(cfg)
    cfg.pii.spacy_model = "no_such_spacy_model"
    with pytest.raises(TunepipeError, match="not installed"):
        check_settings(cfg)


ROWS = [
    ("My name is John Smith, email john.smith@example.com", "Thanks John, we got it.", None),
    ("What is the refund policy?", "A refund takes 5 days.", "A refund takes 5 days. Write to billing@example.org."),
    ("Card 4111 1111 1111 1111 was charged twice", "We refunded the charge.", None),
    ("How do I reset my password?", "Open the security settings and choose reset.", None),
    ("Our server 10.0.0.12 cannot reach the API", "Allow outbound HTTPS.", None),
    ("Call me at 415-555-2671 please", "Sure, we will call you.", None),
]
RAW_VALUES = ["John Smith", "john.smith@example.com", "billing@example.org", "4111 1111 1111 1111", "10.0.0.12", "415-555-2671"]


@pytest.fixture(scope="module")
def records_dir(tmp_path_factory, write_records, record):
    rows = [record(i, p, r, c) for i, (p, r, c) in enumerate(ROWS)]
    return write_records(tmp_path_factory.mktemp("records"), rows)


def test_redact_pii_in_spark(spark, cfg, records_dir, tmp_path):
    import mlflow

    tracking.setup_mlflow(cfg)
    out = tmp_path / "redacted"
    with mlflow.start_run(experiment_id=tracking.ensure_experiment(cfg)) as run:
        summary = redact_pii(cfg, records_dir, out)

    df = artifacts.read_parquet_dir(out).sort_values("record_id").reset_index(drop=True)
    assert summary["rows"] == 6 and summary["rows_with_pii"] == 5
    assert summary["entities"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 2, "IP_ADDRESS": 1, "PERSON": 1, "PHONE_NUMBER": 1}
    assert summary["digest"] == pandas_digest(df)
    assert artifacts.read_summary(out) == summary
    assert list(df.columns) == ["record_id", "source", "source_line", "shape", "prompt", "context", "response", "pii_entities"]
    assert df["pii_entities"].tolist() == ["EMAIL_ADDRESS,PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "", "IP_ADDRESS", "PHONE_NUMBER"]
    assert df.loc[0, "prompt"] == "My name is <PERSON>, email <EMAIL_ADDRESS>"
    assert df.loc[1, "context"] == "A refund takes 5 days. Write to <EMAIL_ADDRESS>."
    assert df.loc[0, "context"] is None
    text = df[["prompt", "context", "response"]].fillna("").to_string()
    assert not [v for v in RAW_VALUES if v in text]

    logged = mlflow.get_run(run.info.run_id).data
    assert logged.metrics["pii.rows_with_pii"] == 5 and logged.metrics["pii.entities.EMAIL_ADDRESS"] == 2
    assert logged.tags["tunepipe.digest"] == summary["digest"]


def test_redact_pii_disabled_passes_rows_through(spark, cfg, records_dir, tmp_path):
    cfg.pii.enabled = False
    summary = redact_pii(cfg, records_dir, tmp_path / "out")
    df = artifacts.read_parquet_dir(tmp_path / "out")
    assert summary["rows"] == 6 and summary["rows_with_pii"] == 0 and summary["entities"] == {}
    assert set(df["pii_entities"]) == {""}
    assert summary["digest"] == pandas_digest(artifacts.read_parquet_dir(records_dir))


def test_redact_pii_without_input_says_what_to_do(spark, cfg, tmp_path):
    with pytest.raises(TunepipeError, match="no Parquet files"):
        redact_pii(cfg, tmp_path / "missing", tmp_path / "out")
