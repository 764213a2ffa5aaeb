"""Deterministic train / validation / test split of the approved dataset.

The split refuses to run unless the input still has the approved content digest. Each row goes
to a split by a hash of `split.salt` and its content hash, mapped into [0, 1) and cut at the
configured ratios: the same content always lands in the same split, whatever the row order,
partitioning or other rows, and exact duplicates can never straddle two splits.
"""

from __future__ import annotations

import hashlib

from pyspark.sql import Column
from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.common import read_dataset
from tunepipe.tracking import log_metrics
from tunepipe.data_quality.spark import get_spark
from tunepipe.digest import row_hash_column, spark_digest
from tunepipe.errors import TunepipeError

SPLITS = ("train", "validation", "test")
_HEX_DIGITS = 13
_SEP = "\u241f"


def bucket(salt: str, row_hash: str) -> float:
    """The row's position in [0, 1); `bucket_column` computes the same value in Spark."""
    h = hashlib.sha256(f"{salt}{_SEP}{row_hash}".encode("utf-8")).hexdigest()
    return int(h[:_HEX_DIGITS], 16) / 16**_HEX_DIGITS


def bucket_column(salt: str) -> Column:
    h = F.sha2(F.concat(F.lit(salt + _SEP), row_hash_column()), 256)
    return F.conv(F.substring(h, 1, _HEX_DIGITS), 16, 10).cast("double") / float(16**_HEX_DIGITS)


def split_column(cfg: Config) -> Column:
    u = bucket_column(cfg.split.salt)
    return (
        F.when(u < cfg.split.train, "train")
        .when(u < cfg.split.train + cfg.split.validation, "validation")
        .otherwise("test")
    )


def split_dataset(cfg: Config, in_dir: str, train_dir: str, val_dir: str, test_dir: str, digest: str) -> dict:
    """Write the three splits of `in_dir`, after checking it still has the approved `digest`."""
    spark = get_spark(cfg)
    df = read_dataset(spark, in_dir, "approved dataset")
    actual = spark_digest(df)
    if actual != digest:
        raise TunepipeError(
            f"the dataset changed after approval: {in_dir} has digest {actual[:12]}..., the approved "
            f"digest is {digest[:12]}.... Review and approve the current dataset, or rerun on the "
            "approved data."
        )
    assigned = df.withColumn("_split", split_column(cfg)).persist()
    result: dict = {}
    try:
        for name, out_dir in zip(SPLITS, (train_dir, val_dir, test_dir)):
            assigned.filter(F.col("_split") == name).drop("_split").write.mode("overwrite").parquet(out_dir)
            rows = spark.read.parquet(out_dir).count()
            artifacts.write_summary(out_dir, {"digest": digest, "rows": rows, "split": name,
                                              "salt": cfg.split.salt})
            result[name] = rows
    finally:
        assigned.unpersist()
    log_metrics({f"{k}_rows": v for k, v in result.items()}, prefix="split.")
    return {**result, "digest": digest}
