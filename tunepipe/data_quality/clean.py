"""Clean and filter ingested records: stage 2 of data preparation, on Spark.

Each of prompt, context and response is normalised (HTML to text, NFKC, control characters,
whitespace, boilerplate lines: `filters.normalise_text`), an emptied context becomes null, and the
configured model's tokenizer counts prompt_tokens (prompt + context) and response_tokens, without
special tokens or chat template. Rows that fail a quality filter (`filters.verdict`, limits in
`clean.*`) go to `removed_dir` with stage "clean", the reason and a detail that gives the measured
value and the limit; the rest go to `out_dir` with the two token columns added.

Accounting, in total and per source: input_rows = kept + sum(filtered.values()).
The text work runs in pandas UDFs; the tokenizer and the language model load once per Python
worker. The tokenizer directory is resolved once on the driver and must be readable by the workers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from tunepipe import artifacts
from tunepipe.config import CleanConfig, Config
from tunepipe.data_quality import filters
from tunepipe.data_quality.common import REMOVED_COLUMNS, read_dataset
from tunepipe.data_quality.spark import get_spark
from tunepipe.errors import TunepipeError
from tunepipe.pii.examples import mark_sensitive
from tunepipe.scheduling import record_cache
from tunepipe.tracking import log_metrics

TEXT_COLUMNS = filters.TEXT_FIELDS
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
REASON_KEYS = {
    "too_short": "min_chars", "too_long": "max_chars", "too_few_tokens": "min_tokens",
    "too_many_tokens": "max_tokens", "repeated_lines": "max_repeated_line_fraction",
    "repeated_ngrams": "max_repeated_ngram_fraction", "symbol_ratio": "max_symbol_word_ratio",
    "language": "languages",
}
QUALITY = StructType([
    StructField("prompt_tokens", IntegerType()), StructField("response_tokens", IntegerType()),
    StructField("reason", StringType()), StructField("detail", StringType()),
])


def clean_records(cfg: Config, in_dir: str, out_dir: str, removed_dir: str) -> dict:
    """Normalise and filter the records of `in_dir`; write kept rows and removed rows; return the summary."""
    patterns = boilerplate_patterns(cfg.clean)
    check_languages(cfg.clean)
    tokenizer = tokenizer_dir(cfg)
    spark = get_spark(cfg)
    df = read_dataset(spark, in_dir, "ingested dataset")
    columns = df.columns
    judged = record_cache.reuse(cfg, "clean", cache_version(cfg, tokenizer), df, list(TEXT_COLUMNS),
                                [*TEXT_COLUMNS, *QUALITY.fieldNames()],
                                lambda d: judge(cfg, d, patterns, tokenizer)).persist()
    try:
        kept = judged.filter(F.col("reason").isNull())
        kept.select(*columns, "prompt_tokens", "response_tokens").write.mode("overwrite").parquet(out_dir)
        removed = judged.filter(F.col("reason").isNotNull()).withColumn("stage", F.lit("clean"))
        removed.select(*REMOVED_COLUMNS).write.mode("overwrite").parquet(removed_dir)
        counts = judged.groupBy("source", "reason").count().collect()
    finally:
        judged.unpersist()
    summary = summarise(counts)
    removed = {"stage": "clean", "removed": sum(summary["filtered"].values()), "filtered": summary["filtered"]}
    artifacts.write_summary(removed_dir, mark_sensitive(removed))
    artifacts.write_summary(out_dir, mark_sensitive(summary))
    log_metrics({k: summary[k] for k in ("input_rows", "kept", "filtered")}, prefix="clean.")
    if summary["kept"] == 0:
        raise TunepipeError(nothing_left_message(cfg.clean, summary, in_dir, removed_dir))
    return summary


def judge(cfg: Config, df, patterns: list[re.Pattern], tokenizer: str):
    """Every row normalised and judged (lazy): text columns replaced, the QUALITY columns added."""
    columns = df.columns
    cleaned = df.select(*[
        clean_text(F.col(c), cfg.clean.strip_html, patterns).alias(c) if c in TEXT_COLUMNS else c for c in columns
    ]).withColumn("context", F.when(F.col("context") != "", F.col("context")))
    return cleaned.withColumn("_q", quality(cfg.clean, tokenizer)(*TEXT_COLUMNS)).select(*columns, "_q.*")


def cache_version(cfg: Config, tokenizer: str) -> str:
    """The per-record cache's version: clean config, tokenizer files, this module's and the filters' code."""
    import sys

    files = {name: (Path(tokenizer) / name).stat().st_size for name in TOKENIZER_FILES if (Path(tokenizer) / name).is_file()}
    config = {"clean": cfg.clean.model_dump(mode="json"), "tokenizer": tokenizer, "files": files}
    return record_cache.stage_version(config, [sys.modules[__name__], filters], ["resiliparse", "py3langid", "tokenizers"])


def clean_text(col: Column, strip_html: bool = True, boilerplate: list[re.Pattern] | tuple = ()) -> Column:
    """The normalised form of a text column (null stays null): `filters.normalise_text` per value."""
    @F.pandas_udf(StringType())
    def normalise(texts: pd.Series) -> pd.Series:
        values = [filters.normalise_text(t, strip_html, boilerplate) for t in strings(texts)]
        return pd.Series(values, index=texts.index, dtype=object)

    return normalise(col)


def quality(limits: CleanConfig, tokenizer: str):
    """A pandas UDF (prompt, context, response) -> struct(prompt_tokens, response_tokens, reason, detail)."""
    @F.pandas_udf(QUALITY)
    def judge(prompt: pd.Series, context: pd.Series, response: pd.Series) -> pd.DataFrame:
        texts = {"prompt": strings(prompt), "context": strings(context), "response": strings(response)}
        count = {name: filters.token_counts(tokenizer, values) for name, values in texts.items()}
        records = [
            {"prompt": p, "context": c, "response": r, "prompt_tokens": np + nc, "response_tokens": nr}
            for p, c, r, np, nc, nr in zip(*texts.values(), *count.values())
        ]
        verdicts = [filters.verdict(rec, limits) for rec in records]
        return pd.DataFrame({
            "prompt_tokens": [rec["prompt_tokens"] for rec in records],
            "response_tokens": [rec["response_tokens"] for rec in records],
            "reason": pd.Series([v[0] for v in verdicts], dtype=object),
            "detail": pd.Series([v[1] for v in verdicts], dtype=object),
        })

    return judge


def strings(values: pd.Series) -> list[str | None]:
    """The values of a string column batch, None for null (an all-null batch arrives as float NaN)."""
    return [v if isinstance(v, str) else None for v in values]


def boilerplate_patterns(limits: CleanConfig) -> list[re.Pattern]:
    compiled = []
    for i, pattern in enumerate(limits.boilerplate_patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise TunepipeError(
                f"clean.boilerplate_patterns[{i}] {pattern!r} is not a valid Python regular expression "
                f"({err}); fix or remove it"
            ) from None
    return compiled


def check_languages(limits: CleanConfig) -> None:
    if limits.languages is None:
        return
    known = filters.known_languages()
    unknown = sorted(set(limits.languages) - set(known))
    if unknown:
        raise TunepipeError(
            f"clean.languages has unknown code(s) {unknown}: use ISO 639-1 codes such as en, de, fr "
            f"(known: {', '.join(sorted(known))}), or clean.languages=null to turn language filtering off"
        )


def tokenizer_dir(cfg: Config) -> str:
    """The local directory of `model.base`, whose tokenizer counts tokens (a GGUF base is converted once)."""
    from tunepipe.training.models import resolve_base_model

    path = resolve_base_model(cfg)
    if not any((Path(path) / name).is_file() for name in TOKENIZER_FILES):
        raise TunepipeError(
            f"model.base {cfg.model.base!r} resolved to {path}, which holds no tokenizer "
            f"({', '.join(TOKENIZER_FILES)}); the clean stage counts tokens with it for clean.min_tokens / "
            "clean.max_tokens. Point model.base at a model directory that includes its tokenizer."
        )
    return path


def summarise(counts: list) -> dict:
    """The stage summary from (source, reason, count) rows; reason null means kept."""
    per_source: dict[str, dict] = {}
    for row in counts:
        src = per_source.setdefault(row["source"], {"input_rows": 0, "kept": 0, "filtered": {}})
        src["input_rows"] += row["count"]
        if row["reason"] is None:
            src["kept"] += row["count"]
        else:
            src["filtered"][row["reason"]] = row["count"]
    filtered: dict[str, int] = {}
    for src in per_source.values():
        src["filtered"] = dict(sorted(src["filtered"].items()))
        for reason, n in src["filtered"].items():
            filtered[reason] = filtered.get(reason, 0) + n
    return {
        "input_rows": sum(s["input_rows"] for s in per_source.values()),
        "kept": sum(s["kept"] for s in per_source.values()),
        "filtered": dict(sorted(filtered.items())),
        "per_source": dict(sorted(per_source.items())),
    }


def nothing_left_message(limits: CleanConfig, summary: dict, in_dir: str, removed_dir: str) -> str:
    if summary["input_rows"] == 0:
        return f"no records to clean: the ingested dataset {in_dir} is empty; check data.paths and the ingest output"
    settings = ", ".join(
        f"{reason} ({n}): clean.{REASON_KEYS[reason]}={getattr(limits, REASON_KEYS[reason])}"
        for reason, n in summary["filtered"].items()
    )
    return (
        f"no records left after cleaning {in_dir}: all {summary['input_rows']} rows were filtered. "
        f"Filters and their settings: {settings}. See the removed rows in {removed_dir} (columns reason, "
        "detail) and loosen those settings in the config (or with --set clean.KEY=VALUE)."
    )
