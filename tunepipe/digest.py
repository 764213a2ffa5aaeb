"""Content digests that bind the chain: dataset -> approval -> split -> training run -> model.

A dataset's digest depends only on its rows' content (prompt, context, response), not on row
order, partitioning or file names. Spark and pandas compute the same value, so the split stage can
refuse data that changed after approval, and any consumer of the Parquet files can re-check them.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

CONTENT_COLUMNS = ("prompt", "context", "response")
_SEP = "\u241f"
_NULL = "\u2400"


def row_hash(prompt: str | None, context: str | None, response: str | None) -> str:
    parts = [prompt or "", _NULL if context is None else context, response or ""]
    return hashlib.sha256(_SEP.join(parts).encode("utf-8")).hexdigest()


def combine(hashes: Iterable[str]) -> str:
    """Digest of a multiset of row hashes, which must arrive sorted."""
    h = hashlib.sha256()
    for value in hashes:
        h.update(value.encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def row_hash_column():
    """The Spark column equal to `row_hash` for each row."""
    from pyspark.sql import functions as F

    return F.sha2(
        F.concat_ws(
            _SEP,
            F.coalesce(F.col("prompt"), F.lit("")),
            F.coalesce(F.col("context"), F.lit(_NULL)),
            F.coalesce(F.col("response"), F.lit("")),
        ),
        256,
    )


def spark_digest(df) -> str:
    """Digest of a Spark DataFrame, streamed to the driver one sorted partition at a time."""
    hashes = df.select(row_hash_column().alias("h")).orderBy("h")
    return combine(row.h for row in hashes.toLocalIterator())


def pandas_digest(*frames) -> str:
    """Digest of the union of pandas DataFrames with the content columns."""
    hashes = []
    for frame in frames:
        cols = [frame[c] if c in frame else [None] * len(frame) for c in CONTENT_COLUMNS]
        hashes.extend(row_hash(p, None if _isnull(c) else c, r) for p, c, r in zip(*cols))
    return combine(sorted(hashes))


def parquet_digest(dataset_dir) -> str:
    """Digest of a Parquet dataset directory, read one record batch at a time (never the whole frame)."""
    from pathlib import Path

    import pyarrow.parquet as pq

    hashes = []
    for path in sorted(Path(dataset_dir).glob("*.parquet")):
        parquet = pq.ParquetFile(path)
        present = [c for c in CONTENT_COLUMNS if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=present):
            cols = batch.to_pydict()
            n = batch.num_rows
            prompts, contexts, responses = (cols.get(c, [None] * n) for c in CONTENT_COLUMNS)
            hashes.extend(map(row_hash, prompts, contexts, responses))
    return combine(sorted(hashes))


def _isnull(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)
