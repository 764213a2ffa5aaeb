"""The ingest stage: validate every input record; valid records to one dataset, the rest to the quarantine with
a reason. Both hold raw text (their summaries say so); the quarantine reaches MLflow only with
`pii.keep_raw_quarantine`.
"""

from __future__ import annotations

from functools import partial

from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.ingest.discovery import (
    Inputs,
    expand_paths,
    list_uri,
    report_skipped,
)
from tunepipe.data_quality.ingest.readers import read_errors, read_records, resolve_json
from tunepipe.data_quality.ingest.shapes import (
    BLANK,
    QUARANTINE_COLUMNS,
    RECORD_COLUMNS,
    classify,
    field_names,
)
from tunepipe.data_quality.ingest.summary import (
    check_quarantine_rate,
    empty_dataset_error,
    ingest_metrics,
    summarise,
)
from tunepipe.data_quality.spark import get_spark
from tunepipe.pii.examples import log_raw_quarantine, mark_sensitive
from tunepipe.tracking import log_metrics


def ingest(cfg: Config, out_dir: str, quarantine_dir: str) -> dict:
    """Validate every input record; write valid records to `out_dir`, the rest to `quarantine_dir`."""
    names = field_names(cfg.data.field_map)
    spark = get_spark(cfg)
    inputs = expand_paths(cfg.data.paths, list_uri=partial(list_uri, spark))
    report_skipped(inputs)
    if not inputs.files:
        raise empty_dataset_error(cfg, inputs, blank_lines=0)
    with read_errors():
        rows = classify(read_records(spark, resolve_json(spark, inputs.files)), names).persist()
        try:
            summary = _write(cfg, rows, inputs, out_dir, quarantine_dir)
        finally:
            rows.unpersist()
    artifacts.write_summary(out_dir, mark_sensitive(summary))
    return summary


def _write(cfg: Config, rows, inputs: Inputs, out_dir: str, quarantine_dir: str) -> dict:
    """Quarantine first (kept even when the checks fail), then the valid records."""
    summary = summarise(rows.groupBy("source", "reason", "shape", "multi_turn").count().collect())
    summary.update(skipped_files=inputs.skipped, empty_files=inputs.empty)
    if summary["input_rows"] == 0:
        raise empty_dataset_error(cfg, inputs, summary["blank_lines"])
    quarantined = rows.filter(F.col("reason").isNotNull() & (F.col("reason") != BLANK))
    quarantined.select(*QUARANTINE_COLUMNS).write.mode("overwrite").parquet(quarantine_dir)
    artifacts.write_summary(quarantine_dir, mark_sensitive(summary))
    log_raw_quarantine(cfg, quarantine_dir)
    log_metrics(ingest_metrics(summary), prefix="ingest.")
    check_quarantine_rate(cfg, summary, quarantine_dir)
    rows.filter(F.col("reason").isNull()).select(*RECORD_COLUMNS).write.mode("overwrite").parquet(out_dir)
    return summary
