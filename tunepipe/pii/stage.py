"""PII and RAI stage: find personal data and risky content in prompt/context/response with Spark, redact it
per policy, and route every record to the dataset or to the removed table, with why.

One `mapInPandas` pass per partition does all the Python work for a batch of rows: PII spans
(`rai.detect.find_spans`, one Presidio analyzer per worker), the RAI screens (`rai.screens`:
secrets, toxicity, blocked terms) and the redaction policy (`rai.policy`: placeholder, mask,
salted hash or drop, applied by Presidio's anonymizer; secrets always become `<SECRET>`). The
result is persisted once and then split, so no row is analysed twice:

- kept rows (disposition `keep`, or `flag` when a screen only flags) go to `out_dir` with the
  text columns redacted and the columns `pii_entities` ("EMAIL_ADDRESS,PERSON"), `pii_actions`
  ("EMAIL_ADDRESS:hash,PERSON:placeholder"), `rai_flags` ("secret,toxicity") and `disposition`;
- dropped rows (`pii_drop:<ENTITY>`, a screen with action drop) and quarantined rows
  (`pii_text_too_long`, `pii_detection_failed`, a screen with action quarantine) go to
  `removed_dir` as `REMOVED_COLUMNS` with stage "pii", the reason, a detail that starts with
  "dropped" or "quarantined", and only redacted text. A text above `pii.max_text_chars`, or one
  detection failed on, is withheld (`<TEXT_WITHHELD>`) rather than stored unredacted.

Accounting, in total and per source: rows = kept + dropped + quarantined. The summary carries the
digest of the kept dataset and the policy version that an approval binds to.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterator

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pii.detect import PiiSettings, check_settings, find_spans, too_long
from tunepipe.pii.policy import SECRET, Policy, policy_version
from tunepipe.rai.screens import ScreenSettings, screen_rows
from tunepipe.scheduling import record_cache

TEXT_COLUMNS = ("prompt", "context", "response")
ENTITIES_COLUMN = "pii_entities"
ACTIONS_COLUMN = "pii_actions"
FLAGS_COLUMN = "rai_flags"
DISPOSITION_COLUMN = "disposition"
OUTPUT_COLUMNS = (ENTITIES_COLUMN, ACTIONS_COLUMN, FLAGS_COLUMN, DISPOSITION_COLUMN)
WORK_COLUMNS = ("_reason", "_detail", "_spans")
KEPT = ("keep", "flag")
SEVERITY = ("drop", "quarantine", "flag", "keep")
WITHHELD = "<TEXT_WITHHELD>"
STAGE = "pii"
MIN_ROWS_PER_WORKER = 500
SYSTEMIC_ERRORS = (ImportError, OSError, MemoryError)

__all__ = ["PiiSettings", "StageSettings", "check_settings", "judge_frame", "redact_df", "redact_pii",
           "redact_texts"]


@dataclass(frozen=True)
class StageSettings:
    """Everything a Spark worker needs, small and picklable (the policy holds no salt, only a derived key)."""

    pii: PiiSettings | None
    policy: Policy
    screens: ScreenSettings
    max_text_chars: int

    @classmethod
    def from_config(cls, cfg: Config) -> "StageSettings":
        """Raises TunepipeError, before any work, when the policy needs a salt that is not set."""
        enabled = cfg.pii.enabled
        return cls(
            PiiSettings.from_config(cfg) if enabled else None,
            Policy.from_config(cfg) if enabled else Policy(),
            ScreenSettings.from_config(cfg),
            cfg.pii.max_text_chars,
        )

    @property
    def active(self) -> bool:
        return self.pii is not None or self.screens.enabled


def redact_texts(texts: list, settings: PiiSettings, policy: Policy | None = None) -> tuple[list, list[set[str]]]:
    """Redact PII in a list of texts (no screens); returns the new texts and the entity types found in each.

    Non-string values come back unchanged. Without a policy every entity becomes its placeholder.
    """
    policy = policy or Policy()
    values = [t if isinstance(t, str) else None for t in texts]
    out, found = list(texts), [set() for _ in texts]
    for i, spans in enumerate(find_spans(values, settings)):
        if spans:
            out[i], applied = policy.redact(values[i], spans)
            found[i] = {entity for entity, _ in applied}
    return out, found


@dataclass
class _Row:
    entities: set[str] = field(default_factory=set)
    spans: Counter = field(default_factory=Counter)
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)

    def disposition(self) -> tuple[str, str | None, str | None]:
        if not self.verdicts:
            return "keep", None, None
        action, reason, _ = min(self.verdicts, key=lambda v: SEVERITY.index(v[0]))
        detail = "; ".join(f"{r}: {d}" for _, r, d in self.verdicts)
        prefix = {"drop": "dropped", "quarantine": "quarantined for review", "flag": "kept, flagged"}[action]
        return action, reason, f"{prefix}: {detail}"


def judge_frame(pdf, stage: StageSettings):
    """One batch of rows (pandas): redact the text columns, add the output and work columns."""
    rows = [_Row() for _ in range(len(pdf))]
    texts = {c: [_as_text(v) for v in pdf[c].tolist()] for c in TEXT_COLUMNS if c in pdf}
    limits = stage.pii or PiiSettings(max_text_chars=stage.max_text_chars)
    withheld = {c: _withhold_long(c, values, rows, limits) for c, values in texts.items()}
    spans = {c: _detect(c, values, rows, withheld[c], stage.pii) for c, values in texts.items()}
    screened = screen_rows(texts, stage.screens)
    for c, values in texts.items():
        pdf[c] = [_redact(v, spans[c][i], screened[i].secrets.get(c, ()), rows[i], stage.policy)
                  if i not in withheld[c] else WITHHELD for i, v in enumerate(values)]
    for row, result in zip(rows, screened):
        row.verdicts += [(stage.screens.action(f), f"rai_{f}", d) for f, d in sorted(result.flags.items())]
        row.verdicts += [("drop", f"pii_drop:{e}", f"{e} found; pii action is drop")
                         for e in sorted(row.entities) if stage.policy.action(e) == "drop"]
    verdicts = [row.disposition() for row in rows]
    pdf[ENTITIES_COLUMN] = [",".join(sorted(row.entities)) for row in rows]
    pdf[ACTIONS_COLUMN] = [",".join(f"{e}:{stage.policy.action(e)}" for e in sorted(row.entities)) for row in rows]
    pdf[FLAGS_COLUMN] = [",".join(sorted(result.flags)) for result in screened]
    pdf[DISPOSITION_COLUMN] = [v[0] for v in verdicts]
    pdf["_reason"] = [v[1] for v in verdicts]
    pdf["_detail"] = [v[2] for v in verdicts]
    pdf["_spans"] = [",".join(f"{e}:{a}={n}" for (e, a), n in sorted(row.spans.items())) for row in rows]
    return pdf


def _as_text(value) -> str | None:
    """Text of a field: strings as they are, nulls (None, NaN) as None, bytes decoded, anything else str()."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _withhold_long(col: str, values: list, rows: list[_Row], limits: PiiSettings) -> set[int]:
    """Texts above `pii.max_text_chars` are not analysed (bounded time) and their rows quarantined."""
    long = {i for i, v in enumerate(values) if too_long(v, limits)}
    for i in sorted(long):
        rows[i].verdicts.append(("quarantine", "pii_text_too_long",
                                 f"{col} has {len(values[i])} characters > pii.max_text_chars {limits.max_text_chars}"))
        values[i] = None
    return long


def _detect(col: str, values: list, rows: list[_Row], withheld: set[int], settings: PiiSettings | None) -> list:
    """PII spans per text; a text that detection fails on is withheld and its row quarantined.

    A missing model or module, or memory exhaustion, is not about one text: it stops the stage.
    """
    if settings is None:
        return [[] for _ in values]
    try:
        return find_spans(values, settings)
    except SYSTEMIC_ERRORS:
        raise
    except Exception:
        spans = []
        for i, value in enumerate(values):
            try:
                spans += find_spans([value], settings)
            except SYSTEMIC_ERRORS:
                raise
            except Exception as err:
                rows[i].verdicts.append(("quarantine", "pii_detection_failed", f"{col}: {type(err).__name__}"))
                withheld.add(i)
                spans.append([])
        return spans


def _redact(text: str | None, spans: list, secrets, row: _Row, policy: Policy) -> str | None:
    from presidio_analyzer import RecognizerResult

    if text is None:
        return None
    results = list(spans) + [RecognizerResult(SECRET, s.start, s.end, 1.0) for s in secrets]
    redacted, applied = policy.redact(text, results)
    applied = [(e, a) for e, a in applied if e != SECRET]
    row.entities.update(e for e, _ in applied)
    row.spans.update(applied)
    return redacted


def _judge_frames(frames: Iterator, stage: StageSettings) -> Iterator:
    for pdf in frames:
        yield judge_frame(pdf, stage)


def _spread(spark, df):
    """Rows dealt round-robin over at least one partition per core, when there is enough work to pay
    for a Presidio worker's start on each.

    The partition count alone says nothing about balance: Spark splits a Parquet file by bytes, and a
    file with one row group gives one split every row and the others none (a 100k-record file read
    as two partitions ran on one core).
    """
    try:
        cores, partitions = spark.sparkContext.defaultParallelism, df.rdd.getNumPartitions()
    except Exception:  # noqa: BLE001 - Spark Connect has neither sparkContext nor RDDs
        cores, partitions = _connect_cores(spark), 1
    wanted = min(cores, df.count() // MIN_ROWS_PER_WORKER)
    return df.repartition(max(wanted, partitions)) if wanted > 1 else df


def _connect_cores(spark) -> int:
    """The server's spark.default.parallelism over Spark Connect (the shared local server sets it), else 1."""
    try:
        return int(spark.conf.get("spark.default.parallelism", "1"))
    except Exception:  # noqa: BLE001 - a server that does not expose it
        return 1


def redact_df(cfg: Config, df, stage: StageSettings | None = None):
    """Every row judged (lazy): text columns redacted, OUTPUT_COLUMNS and WORK_COLUMNS added."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    stage = stage or StageSettings.from_config(cfg)
    df = df.drop(*[c for c in (*OUTPUT_COLUMNS, *WORK_COLUMNS) if c in df.columns])
    df = df.select(*[F.col(c).cast("string").alias(c) if c in TEXT_COLUMNS else F.col(c) for c in df.columns])
    if not stage.active:
        passed = {ENTITIES_COLUMN: "", ACTIONS_COLUMN: "", FLAGS_COLUMN: "", DISPOSITION_COLUMN: "keep"}
        return df.select("*", *[F.lit(v).alias(k) for k, v in passed.items()],
                         *[F.lit(None).cast("string").alias(c) for c in WORK_COLUMNS])
    added = [StructField(c, StringType(), True) for c in (*OUTPUT_COLUMNS, *WORK_COLUMNS)]
    return df.mapInPandas(partial(_judge_frames, stage=stage), StructType(df.schema.fields + added))


def default_removed_dir(out_dir: str | Path) -> str:
    """Where removed rows go when the caller names no directory: `<out_dir>_removed`, beside it."""
    return str(out_dir).rstrip("/") + "_removed"


def redact_pii(cfg: Config, in_dir: str | Path, out_dir: str | Path, removed_dir: str | Path | None = None) -> dict:
    """Redact and screen the records at `in_dir`; kept rows to `out_dir`, the rest to `removed_dir`; the summary."""
    from tunepipe.data_quality.common import read_dataset
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.digest import spark_digest

    stage = StageSettings.from_config(cfg)
    if cfg.pii.enabled:
        check_settings(cfg)
    removed_dir = str(removed_dir or default_removed_dir(out_dir))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = get_spark(cfg, "tunepipe-pii")
    df = read_dataset(spark, in_dir, "cleaned dataset")
    judged = record_cache.reuse(cfg, STAGE, cache_version(cfg, stage), df, list(TEXT_COLUMNS),
                                [*TEXT_COLUMNS, *OUTPUT_COLUMNS, *WORK_COLUMNS],
                                lambda d: redact_df(cfg, _spread(spark, d), stage)).persist()
    try:
        with _worker_errors():
            _write(judged, df.columns, str(out_dir), removed_dir)
        counts = _counts(judged)
    finally:
        judged.unpersist()
    summary = {**counts, "digest": spark_digest(spark.read.parquet(str(out_dir))),
               "policy_version": policy_version(cfg), "pii_enabled": cfg.pii.enabled}
    artifacts.write_summary(out_dir, summary)
    artifacts.write_summary(removed_dir, {
        "stage": STAGE, "removed": summary["dropped"] + summary["quarantined"], "dropped": summary["dropped"],
        "quarantined": summary["quarantined"], "drop_reasons": summary["drop_reasons"],
        "quarantine_reasons": summary["quarantine_reasons"],
    })
    _log_to_mlflow(summary)
    return summary


def cache_version(cfg: Config, stage: StageSettings) -> str:
    """The per-record cache's version: the policy version, the salt-derived key (hashed), the detection,
    screening and redaction code, and the Presidio / spaCy versions."""
    import hashlib

    from tunepipe.pii import addresses, detect, policy, recognizers
    from tunepipe.rai import screens

    config = {"policy_version": policy_version(cfg), "key": hashlib.sha256(stage.policy.key).hexdigest()}
    libraries = ["presidio-analyzer", "presidio-anonymizer", "spacy", "faker", cfg.pii.spacy_model.replace("_", "-")]
    return record_cache.stage_version(config, [sys.modules[__name__], addresses, detect, policy, recognizers, screens], libraries)


def _write(judged, columns: list[str], out_dir: str, removed_dir: str) -> None:
    from pyspark.sql import functions as F

    from tunepipe.data_quality.common import REMOVED_COLUMNS

    kept = F.col(DISPOSITION_COLUMN).isin(*KEPT)
    judged.filter(kept).select(*columns, *OUTPUT_COLUMNS).write.mode("overwrite").parquet(out_dir)
    sources = {"stage": F.lit(STAGE), "reason": F.col("_reason"), "detail": F.col("_detail")}
    missing = {c: F.lit(None).cast("long" if c == "source_line" else "string") for c in REMOVED_COLUMNS}
    removed = [sources.get(c, F.col(c) if c in columns else missing[c]).alias(c) for c in REMOVED_COLUMNS]
    judged.filter(~kept).select(*removed).write.mode("overwrite").parquet(removed_dir)


@contextmanager
def _worker_errors():
    try:
        yield
    except Exception as err:
        if "No module named 'tunepipe'" in str(err):
            raise TunepipeError(
                "Spark's Python workers cannot import tunepipe: install it (pip install -e .) into "
                f"the Python they run ({os.environ.get('PYSPARK_PYTHON')}), or add the repository "
                "to PYTHONPATH before Spark starts"
            ) from None
        raise


def _exploded(judged, column: str):
    from pyspark.sql import functions as F

    items = judged.select(F.explode(F.split(F.col(column), ",")).alias("item"))
    return items.where(F.col("item") != "")


def _counts(judged) -> dict:
    """The summary's counts, aggregated by Spark over the persisted rows (only small results collected)."""
    from pyspark.sql import functions as F

    has_pii = (F.col(ENTITIES_COLUMN) != "").cast("int").alias("has_pii")
    groups = judged.groupBy(F.coalesce(F.col("source"), F.lit("")).alias("source"), DISPOSITION_COLUMN,
                            "_reason", has_pii).count().collect()
    spans = _exploded(judged, "_spans").select(F.split("item", "=").alias("kv")).groupBy(
        F.col("kv")[0].alias("key")).agg(F.sum(F.col("kv")[1].cast("long")).alias("n")).collect()
    summary = _group_counts(groups)
    summary["entities"] = _item_counts(_exploded(judged, ENTITIES_COLUMN))
    summary["actions"] = _action_counts({r["key"]: int(r["n"]) for r in spans})
    summary["rai_flags"] = _item_counts(_exploded(judged, FLAGS_COLUMN))
    return summary


def _item_counts(items) -> dict[str, int]:
    return {r["item"]: int(r["count"]) for r in items.groupBy("item").count().orderBy("item").collect()}


def _action_counts(spans: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, n in sorted(spans.items()):
        entity, _, action = key.rpartition(":")
        out.setdefault(entity, {})[action] = n
    return out


def _group_counts(groups) -> dict:
    total = {"rows": 0, "kept": 0, "dropped": 0, "quarantined": 0, "rows_with_pii": 0}
    per_source: dict[str, dict[str, int]] = {}
    reasons: dict[str, Counter] = {"dropped": Counter(), "quarantined": Counter()}
    for g in groups:
        n, src = int(g["count"]), g["source"]
        bucket = {"drop": "dropped", "quarantine": "quarantined"}.get(g[DISPOSITION_COLUMN], "kept")
        row = per_source.setdefault(src, {k: 0 for k in total})
        for counts in (total, row):
            counts["rows"] += n
            counts[bucket] += n
            counts["rows_with_pii"] += n * g["has_pii"]
        if bucket != "kept":
            reasons[bucket][g["_reason"]] += n
    return {**total, "drop_reasons": dict(sorted(reasons["dropped"].items())),
            "quarantine_reasons": dict(sorted(reasons["quarantined"].items())),
            "per_source": dict(sorted(per_source.items()))}


def _log_to_mlflow(summary: dict) -> None:
    import mlflow

    from tunepipe.tracking import log_metrics

    if mlflow.active_run() is None:
        return
    keys = ("rows", "kept", "dropped", "quarantined", "rows_with_pii", "entities", "actions", "rai_flags")
    log_metrics({k: summary[k] for k in keys}, prefix="pii.")
    mlflow.set_tags({"tunepipe.digest": summary["digest"], "tunepipe.policy_version": summary["policy_version"]})
    mlflow.log_dict(summary, "pii/summary.json")
