"""Per-record result cache of the data stages, so a rerun on old data plus new rows costs the new rows.

A stage's per-record work (clean: normalisation, token counts and filter verdicts; PII: Presidio
spans, screens and redaction) depends only on the record's text and on the stage's version: its
config section, the source of the code that does the work and the versions of the libraries it
calls (`stage_version`). Results are kept as Parquet under
`<schedule.record_cache_dir or data_dir/record_cache>/<stage>/<version>/<batch>/`, keyed by the sha256 of
the record's text columns. `reuse` joins a stage's input with that table: hits take the stored
values, misses go through the stage's own function, and only the misses are appended. A changed
config, policy, salt-derived key or code is a new version, so stale results are never read; rows the
stage did not see before are never served from it. Dedup and split run in full on the result, so
their output is exactly that of a full run.

The clean cache holds cleaned text before PII redaction: it is as sensitive as the ingested dataset.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable

from tunepipe.config import Config

KEY = "_record_key"
log = logging.getLogger(__name__)


def stage_version(config: dict, modules: Iterable, libraries: Iterable[str] = ()) -> str:
    """16 hex over the stage's config, the source of `modules` and the installed `libraries` versions."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for module in modules:
        h.update(Path(inspect.getfile(module)).read_bytes())
    for name in libraries:
        try:
            h.update(f"{name}=={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name}==none".encode())
    return h.hexdigest()[:16]


def cache_dir(cfg: Config, stage: str, version: str) -> str:
    root = cfg.schedule.record_cache_dir or str(Path(cfg.project.data_dir) / "record_cache")
    return f"{root.rstrip('/')}/{stage}/{version}"


def content_key(columns: Iterable[str]):
    from pyspark.sql import functions as F

    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in columns])), 256)


def _batches(path: str) -> list[str]:
    """The completed batches under `path` (one directory per run that added rows), listed once up front,
    so the rows a run appends are never read back as hits of that same run."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(path)
    if not fs.isdir(root):
        return []
    done = [d for d in fs.ls(root, detail=False) if fs.exists(f"{d}/_SUCCESS")]
    return sorted(d if "://" not in path else f"{path.split('://')[0]}://{d}" for d in done)


def _stored(spark, path: str):
    batches = _batches(path)
    return spark.read.parquet(*batches).dropDuplicates([KEY]) if batches else None


def reuse(cfg: Config, stage: str, version: str, df, key_columns: list[str], value_columns: list[str],
          compute: Callable):
    """`compute(df)` with the stored results of records seen before under `version` (lazy, like `compute`).

    `compute` takes and returns a DataFrame that keeps every input column it does not replace; its
    `value_columns` are what is stored.
    """
    if not cfg.schedule.record_cache:
        return compute(df)
    spark = df.sparkSession
    path = cache_dir(cfg, stage, version)
    keyed = df.withColumn(KEY, content_key(key_columns))
    stored = _stored(spark, path)
    misses = keyed if stored is None else keyed.join(stored.select(KEY), KEY, "left_anti")
    fresh = compute(misses).persist()
    computed = fresh.count()
    if computed:
        batch = f"{path}/{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        fresh.select(KEY, *value_columns).dropDuplicates([KEY]).write.parquet(batch)
    log.info("%s record cache %s: %d rows computed, the rest reused", stage, version, computed)
    if stored is None:
        return fresh
    hits = keyed.drop(*[c for c in value_columns if c in keyed.columns]).join(stored, KEY, "inner")
    return hits.select(*fresh.columns).unionByName(fresh)
