"""PII redaction with a real Presidio engine, in-process and through a real local Spark session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tunepipe import artifacts, tracking
from tunepipe.data_quality.common import REMOVED_COLUMNS
from tunepipe.digest import pandas_digest
from tunepipe.errors import TunepipeError
from tunepipe.pii.stage import PiiSettings, check_settings, redact_pii, redact_texts
from tunepipe.pii.policy import derive_key, policy_version, pseudonym

SALT = "salt-for-the-spark-test-5f0c2a7e9b"
INPUT_COLUMNS = ["record_id", "source", "source_line", "shape", "prompt", "context", "response"]
OUTPUT_COLUMNS = INPUT_COLUMNS + ["pii_entities", "pii_actions", "rai_flags", "disposition"]

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


def test_non_string_values_pass_through_unchanged(cfg):
    texts, found = redact_texts([42, 3.5, b"raw", None, "mail me at a@example.com"], PiiSettings.from_config(cfg))
    assert texts == [42, 3.5, b"raw", None, "mail me at <EMAIL_ADDRESS>"]
    assert found == [set(), set(), set(), set(), {"EMAIL_ADDRESS"}]


def test_a_text_detection_fails_on_is_withheld_and_its_row_quarantined(cfg, monkeypatch):
    import pandas as pd

    from tunepipe.pii import stage as pii

    real = pii.find_spans

    def fragile(texts, settings):
        if any(isinstance(t, str) and "boom" in t for t in texts):
            raise ValueError("cannot analyse")
        return real(texts, settings)

    monkeypatch.setattr(pii, "find_spans", fragile)
    pdf = pd.DataFrame({"source": ["s"] * 3, "prompt": ["boom, call 415-555-2671", "mail a@example.com", 12],
                        "context": [None, float("nan"), None], "response": ["ok", b"bytes", ""]})
    out = pii.judge_frame(pdf, pii.StageSettings.from_config(cfg))
    assert out["prompt"].tolist() == ["<TEXT_WITHHELD>", "mail <EMAIL_ADDRESS>", "12"]
    assert out["response"].tolist() == ["ok", "bytes", ""] and out["context"].tolist() == [None, None, None]
    assert out["disposition"].tolist() == ["quarantine", "keep", "keep"]
    assert out.loc[0, "_reason"] == "pii_detection_failed"
    assert out.loc[0, "_detail"] == "quarantined for review: pii_detection_failed: prompt: ValueError"


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
    assert (summary["rows"], summary["kept"], summary["dropped"], summary["quarantined"]) == (6, 6, 0, 0)
    assert summary["rows_with_pii"] == 5
    assert summary["entities"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 2, "IP_ADDRESS": 1, "PERSON": 1, "PHONE_NUMBER": 1}
    assert {e: set(a) for e, a in summary["actions"].items()} == {e: {"placeholder"} for e in summary["entities"]}
    assert summary["per_source"] == {"/data/support.jsonl": {"rows": 6, "rows_with_pii": 5, "kept": 6, "dropped": 0,
                                                             "quarantined": 0}}
    assert summary["rai_flags"] == {} and summary["drop_reasons"] == summary["quarantine_reasons"] == {}
    assert summary["digest"] == pandas_digest(df)
    assert summary["policy_version"] == policy_version(cfg)
    assert artifacts.read_summary(out) == summary
    assert list(df.columns) == OUTPUT_COLUMNS
    assert df["pii_entities"].tolist() == ["EMAIL_ADDRESS,PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "", "IP_ADDRESS", "PHONE_NUMBER"]
    assert df["pii_actions"][0] == "EMAIL_ADDRESS:placeholder,PERSON:placeholder"
    assert set(df["disposition"]) == {"keep"} and set(df["rai_flags"]) == {""}
    assert df.loc[0, "prompt"] == "My name is <PERSON>, email <EMAIL_ADDRESS>"
    assert df.loc[1, "context"] == "A refund takes 5 days. Write to <EMAIL_ADDRESS>."
    assert df.loc[0, "context"] is None
    text = df[["prompt", "context", "response"]].fillna("").to_string()
    assert not [v for v in RAW_VALUES if v in text]
    removed = Path(f"{out}_removed")
    assert artifacts.read_summary(removed)["removed"] == 0 and len(artifacts.read_parquet_dir(removed)) == 0

    logged = mlflow.get_run(run.info.run_id).data
    assert logged.metrics["pii.rows_with_pii"] == 5 and logged.metrics["pii.entities.EMAIL_ADDRESS"] == 2
    assert logged.metrics["pii.actions.EMAIL_ADDRESS.placeholder"] == 2
    assert logged.tags["tunepipe.digest"] == summary["digest"]
    assert logged.tags["tunepipe.policy_version"] == summary["policy_version"]


def test_redact_pii_disabled_passes_rows_through(spark, cfg, records_dir, tmp_path):
    cfg.pii.enabled = False
    summary = redact_pii(cfg, records_dir, tmp_path / "out", tmp_path / "removed")
    df = artifacts.read_parquet_dir(tmp_path / "out")
    assert summary["rows"] == summary["kept"] == 6 and summary["rows_with_pii"] == 0 and summary["entities"] == {}
    assert set(df["pii_entities"]) == {""} and summary["pii_enabled"] is False
    assert summary["digest"] == pandas_digest(artifacts.read_parquet_dir(records_dir))


def test_redact_pii_without_input_says_what_to_do(spark, cfg, tmp_path):
    with pytest.raises(TunepipeError, match="no Parquet files"):
        redact_pii(cfg, tmp_path / "missing", tmp_path / "out")


POLICY_ROWS = [
    ("/data/a.jsonl", "My email is alice.jones@example.com, phone 415-555-2671",
     "We will write to alice.jones@example.com."),
    ("/data/a.jsonl", "My SSN is 536-22-1234, can you check it?", "Noted."),
    ("/data/b.jsonl", "Deploy fails with key AKIAIOSFODNN7EXAMPLE in the config", "Rotate the key now."),
    ("/data/b.jsonl", "This fucking app is garbage", "Sorry about that."),
    ("/data/b.jsonl", "What is the status of project falcon?", "No comment."),
    ("/data/a.jsonl", "How do I reset my password?", "Open the security settings."),
]


@pytest.fixture
def policy_cfg(cfg, monkeypatch):
    monkeypatch.setenv("TUNEPIPE_PII_SALT", SALT)
    cfg.pii.actions = {"EMAIL_ADDRESS": "hash", "PHONE_NUMBER": "mask", "US_SSN": "drop"}
    cfg.rai.blocked_terms.terms = ["Project Falcon"]
    cfg.rai.blocked_terms.action = "drop"
    return cfg


def test_policy_screens_and_removed_rows_in_spark(spark, policy_cfg, tmp_path, write_records, record, capfd):
    import mlflow

    rows = [{**record(i, p, r), "source": src} for i, (src, p, r) in enumerate(POLICY_ROWS)]
    records = write_records(tmp_path / "in", rows)
    out, removed_dir = tmp_path / "out", tmp_path / "removed"
    tracking.setup_mlflow(policy_cfg)
    with mlflow.start_run(experiment_id=tracking.ensure_experiment(policy_cfg)):
        summary = redact_pii(policy_cfg, records, out, removed_dir)

    kept = artifacts.read_parquet_dir(out).sort_values("record_id").reset_index(drop=True)
    removed = artifacts.read_parquet_dir(removed_dir).sort_values("record_id").reset_index(drop=True)
    email = pseudonym(derive_key(SALT), "EMAIL_ADDRESS", "alice.jones@example.com")
    assert kept["source_line"].tolist() == [1, 4, 6] and removed["source_line"].tolist() == [2, 3, 5]
    assert kept.loc[0, "prompt"] == f"My email is {email}, phone ************"
    assert kept.loc[0, "response"] == f"We will write to {email}."
    assert kept.loc[0, "pii_actions"] == "EMAIL_ADDRESS:hash,PHONE_NUMBER:mask"
    assert kept[["rai_flags", "disposition"]].values.tolist() == [["", "keep"], ["toxicity", "flag"], ["", "keep"]]

    assert list(removed.columns) == REMOVED_COLUMNS and set(removed["stage"]) == {"pii"}
    assert removed["reason"].tolist() == ["pii_drop:US_SSN", "rai_secret", "rai_blocked_term"]
    assert removed["prompt"].tolist() == ["My SSN is <US_SSN>, can you check it?",
                                          "Deploy fails with key <SECRET> in the config",
                                          "What is the status of project falcon?"]
    assert [d.split(":")[0] for d in removed["detail"]] == ["dropped", "quarantined for review", "dropped"]
    assert removed.loc[1, "detail"] == "quarantined for review: rai_secret: AWS Access Key in prompt"

    assert (summary["rows"], summary["kept"], summary["dropped"], summary["quarantined"]) == (6, 3, 2, 1)
    assert summary["per_source"] == {
        "/data/a.jsonl": {"rows": 3, "rows_with_pii": 2, "kept": 2, "dropped": 1, "quarantined": 0},
        "/data/b.jsonl": {"rows": 3, "rows_with_pii": 0, "kept": 1, "dropped": 1, "quarantined": 1},
    }
    assert summary["actions"] == {"EMAIL_ADDRESS": {"hash": 2}, "PHONE_NUMBER": {"mask": 1}, "US_SSN": {"drop": 1}}
    assert summary["rai_flags"] == {"blocked_term": 1, "secret": 1, "toxicity": 1}
    assert summary["drop_reasons"] == {"pii_drop:US_SSN": 1, "rai_blocked_term": 1}
    assert summary["quarantine_reasons"] == {"rai_secret": 1}
    assert summary["digest"] == pandas_digest(kept)
    assert artifacts.read_summary(removed_dir)["removed"] == 3

    leaks = [SALT, derive_key(SALT).hex(), "AKIAIOSFODNN7EXAMPLE", "536-22-1234", "alice.jones@example.com"]
    outputs = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.parent != records)
    captured = capfd.readouterr()
    assert [v for v in leaks if v.encode() in outputs or v in captured.out + captured.err] == []


def test_hash_without_salt_fails_before_any_work(spark, policy_cfg, records_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("TUNEPIPE_PII_SALT")
    with pytest.raises(TunepipeError, match="TUNEPIPE_PII_SALT"):
        redact_pii(policy_cfg, records_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def write_odd_records(directory: Path) -> Path:
    """Records with a non-string context column, a 1.2 MB prompt, odd unicode and non-English text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    prompts = [
        "", "word " * 240_000, "\u200fJohn Smith\u200d wrote 👩\u200d💻 from john@example.com 🎉",
        "Ich heiße Jürgen Müller, meine E-Mail ist juergen@example.de", "مرحبا، بريدي ahmed@example.com", None,
    ]
    table = pa.table({
        "record_id": [f"{i:016x}" for i in range(len(prompts))], "source": ["/data/odd.jsonl"] * len(prompts),
        "source_line": list(range(1, len(prompts) + 1)), "shape": ["rag"] * len(prompts), "prompt": prompts,
        "context": pa.array([7, None, 3, None, 1, None], pa.int64()),
        "response": ["", "ok", "\u202e!", "ok", "ok", None],
    })
    directory.mkdir(parents=True)
    pq.write_table(table, directory / "part-00000.parquet")
    return directory


def test_bad_input_is_redacted_or_quarantined_with_a_reason(spark, cfg, tmp_path):
    start = time.perf_counter()
    summary = redact_pii(cfg, write_odd_records(tmp_path / "odd"), tmp_path / "out", tmp_path / "removed")
    assert time.perf_counter() - start < 300
    kept = artifacts.read_parquet_dir(tmp_path / "out").sort_values("record_id").reset_index(drop=True)
    removed = artifacts.read_parquet_dir(tmp_path / "removed")
    assert (summary["rows"], summary["kept"], summary["quarantined"]) == (6, 5, 1)
    assert removed[["reason", "prompt"]].values.tolist() == [["pii_text_too_long", "<TEXT_WITHHELD>"]]
    assert removed.loc[0, "detail"].endswith("prompt has 1200000 characters > pii.max_text_chars 1000000")
    assert kept["context"].tolist() == ["7", "3", None, "1", None]
    assert "<EMAIL_ADDRESS>" in kept.loc[1, "prompt"] and "🎉" in kept.loc[1, "prompt"]
    text = kept[["prompt", "response"]].fillna("").to_string()
    assert not [v for v in ("john@example.com", "juergen@example.de", "ahmed@example.com") if v in text]


def test_rows_are_spread_over_every_core_even_when_partitions_are_skewed(spark, tmp_path):
    """A Parquet file with one row group, split by bytes: every row in one partition, the others empty."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    from tunepipe.pii.stage import MIN_ROWS_PER_WORKER, _spread

    n = 4 * MIN_ROWS_PER_WORKER
    texts = [f"{i:08d}-" + "".join(chr(65 + (i * k) % 26) for k in range(200)) for i in range(n)]
    pq.write_table(pa.table({"prompt": texts}), tmp_path / "one-row-group.parquet")
    spark.conf.set("spark.sql.files.openCostInBytes", "0")
    try:
        skewed = spark.read.parquet(str(tmp_path / "one-row-group.parquet"))
        before = [r["count"] for r in skewed.groupBy(F.spark_partition_id()).count().collect()]
        assert skewed.rdd.getNumPartitions() > 1 and before == [n]
        after = [r["count"] for r in _spread(spark, skewed).groupBy(F.spark_partition_id()).count().collect()]
    finally:
        spark.conf.unset("spark.sql.files.openCostInBytes")
    assert len(after) >= 2 and sum(after) == n and min(after) >= n // (2 * len(after))
    tiny = spark.range(0, MIN_ROWS_PER_WORKER, numPartitions=1)
    assert _spread(spark, tiny).rdd.getNumPartitions() == 1
