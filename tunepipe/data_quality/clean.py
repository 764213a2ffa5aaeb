"""Clean, filter and exactly deduplicate ingested records.

Text normalisation on prompt, context and response, in this order: line breaks unified, HTML tags
removed (line-breaking tags become newlines), HTML entities decoded and Unicode NFKC applied (one
vectorised pandas UDF: Spark has neither built in), control and format characters removed,
horizontal whitespace collapsed to one space, spaces around newlines and runs of blank lines
trimmed. Then the length filters of `data.min_chars` / `data.max_chars`, then exact deduplication
on the normalised content, keeping the row with the smallest record_id of each group.

Accounting: input_rows = kept + sum(filtered.values()) + exact_duplicates.
"""

from __future__ import annotations

import html
import unicodedata

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.common import read_dataset
from tunepipe.tracking import log_metrics
from tunepipe.data_quality.spark import get_spark
from tunepipe.digest import row_hash_column
from tunepipe.errors import TunepipeError

TEXT_COLUMNS = ("prompt", "context", "response")
BREAK_TAGS = r"(?i)<\s*(br|hr)\s*/?>|</\s*(p|div|li|tr|h[1-6]|blockquote|pre)\s*>"
ANY_TAG = r"(?i)<!--.*?-->|</?[a-z][a-z0-9]*(\s[^<>]*)?/?>"
CONTROL = r"[\p{Cc}\p{Cf}&&[^\n\t]]"


@F.pandas_udf(StringType())
def unescape_nfkc(texts: pd.Series) -> pd.Series:
    return texts.map(lambda t: None if t is None else unicodedata.normalize("NFKC", html.unescape(t)))


def clean_text(col: Column) -> Column:
    """The normalised form of a text column (null stays null)."""
    col = F.regexp_replace(col, r"\r\n?|[\u2028\u2029]", "\n")
    col = F.regexp_replace(col, BREAK_TAGS, "\n")
    col = unescape_nfkc(F.regexp_replace(col, ANY_TAG, ""))
    col = F.regexp_replace(col, CONTROL, "")
    col = F.regexp_replace(col, r"[\t\p{Zs}]+", " ")
    col = F.regexp_replace(col, r" ?\n ?", "\n")
    col = F.regexp_replace(col, r"\n{3,}", "\n\n")
    return F.regexp_replace(col, r"^\s+|\s+$", "")


def filter_reason(cfg: Config) -> Column:
    """Why a cleaned row is filtered out, or null to keep it."""
    lo, hi = cfg.data.min_chars, cfg.data.max_chars
    total = F.length("prompt") + F.coalesce(F.length("context"), F.lit(0)) + F.length("response")
    return (
        F.when((F.length("prompt") < lo) | (F.length("response") < lo), "too_short")
        .when(total > hi, "too_long")
    )


def clean_and_dedup(cfg: Config, in_dir: str, out_dir: str) -> dict:
    """Normalise text, drop rows outside the length limits and exact duplicates; write the rest."""
    spark = get_spark(cfg)
    df = read_dataset(spark, in_dir, "ingested dataset")
    columns = df.columns
    cleaned = df.select(*[clean_text(F.col(c)).alias(c) if c in TEXT_COLUMNS else c for c in columns])
    cleaned = cleaned.withColumn("context", F.when(F.col("context") != "", F.col("context")))
    flagged = cleaned.withColumn("_filter", filter_reason(cfg)).persist()
    try:
        counts = {r["_filter"]: r["count"] for r in flagged.groupBy("_filter").count().collect()}
        passed = flagged.filter(F.col("_filter").isNull()).drop("_filter")
        deduplicate(passed).select(*columns).write.mode("overwrite").parquet(out_dir)
    finally:
        flagged.unpersist()
    kept = spark.read.parquet(out_dir).count()
    filtered = dict(sorted((k, v) for k, v in counts.items() if k is not None))
    summary = {
        "input_rows": sum(counts.values()), "kept": kept, "filtered": filtered,
        "exact_duplicates": counts.get(None, 0) - kept,
    }
    log_metrics(summary, prefix="clean.")
    artifacts.write_summary(out_dir, summary)
    if kept == 0:
        raise TunepipeError(
            f"no records left after cleaning {in_dir}: filtered {filtered or 'none'}. Check "
            f"data.min_chars={cfg.data.min_chars} and data.max_chars={cfg.data.max_chars} in the config."
        )
    return summary


def deduplicate(df):
    """One row per distinct (prompt, context, response): the one with the smallest record_id."""
    others = [c for c in df.columns if c != "record_id"]
    first = F.min(F.struct("record_id", *others)).alias("_first")
    return df.groupBy(row_hash_column().alias("_h")).agg(first).select("_first.*")
