"""Deterministic, leak-free train / validation / test split of the approved dataset.

The split refuses to run unless the input still has the approved content digest. It assigns
units, not rows: a unit is a group_id group from the dedup stage (or one row when the column is
absent), merged with any other unit that holds a row of identical content (PII redaction after
dedup can make two rows equal), so near-duplicate groups and exact duplicates never straddle two
splits. A unit's key is the smallest content hash (digest.row_hash) of its rows; a hash of
`split.salt` and that key places it at u in [0, 1).

- `split.stratify_by: none`: u is cut at the configured ratios. A unit's split depends only on its
  own content, so the same content always lands in the same split, whatever the row order,
  partitioning or other rows; when data grows, existing rows keep their split unless a new row
  joins their group with a smaller content hash (or bridges two groups).
- `split.stratify_by: source | shape`: inside each stratum (the source or shape of the unit's key
  row) units are ordered by u and cut where their cumulative row count crosses the ratios, so
  every stratum gets its share exactly, up to one group. The trade-off: ratios hold exactly even
  for small strata, but new rows shift the cut points, so a few existing units near a cut can move
  when data grows. Choose `none` where stability across retraining matters more than exact
  per-stratum ratios.
- `split.fixed_test_dir`: a previous test split. Units holding a row whose content hash is in it
  form the test split; every other unit goes to train or validation at the renormalised ratios, so
  scheduled retraining is judged on a stable held-out set.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.common import read_dataset
from tunepipe.data_quality.dedup import connected_components
from tunepipe.data_quality.spark import get_spark
from tunepipe.digest import row_hash_column, spark_digest
from tunepipe.errors import TunepipeError
from tunepipe.tracking import log_metrics

SPLITS = ("train", "validation", "test")
_HEX_DIGITS = 13
_SEP = "\u241f"


def bucket(salt: str, row_hash: str) -> float:
    """The position in [0, 1) of a unit keyed by `row_hash`; `bucket_column` computes it in Spark."""
    h = hashlib.sha256(f"{salt}{_SEP}{row_hash}".encode("utf-8")).hexdigest()
    return int(h[:_HEX_DIGITS], 16) / 16**_HEX_DIGITS


def bucket_column(salt: str, key: Column | None = None) -> Column:
    key = row_hash_column() if key is None else key
    h = F.sha2(F.concat(F.lit(salt + _SEP), key), 256)
    return F.conv(F.substring(h, 1, _HEX_DIGITS), 16, 10).cast("double") / float(16**_HEX_DIGITS)


def cuts(cfg: Config, fixed_test: bool) -> tuple[float, float]:
    """Upper bounds of train and validation in [0, 1]; with a fixed test set they share all of it."""
    train, val = cfg.split.train, cfg.split.validation
    if fixed_test:
        return train / (train + val), 1.0
    return train, train + val


def split_of(position: Column, train_cut: float, val_cut: float) -> Column:
    return F.when(position < train_cut, "train").when(position < val_cut, "validation").otherwise("test")


def with_units(df: DataFrame) -> DataFrame:
    """_h (content hash) and _unit: the group a row is split with."""
    rows = df.withColumn("_h", row_hash_column())
    if "group_id" not in df.columns:
        return rows.withColumn("_unit", F.col("_h"))
    rows = rows.withColumn("_g", F.coalesce(F.col("group_id"), F.col("_h")))
    same_content = (rows.select(F.col("_g").alias("a"), F.min("_g").over(Window.partitionBy("_h")).alias("b"))
                    .filter(F.col("a") != F.col("b")).distinct())
    labels = connected_components(same_content, "split units")
    return (rows.join(labels.withColumnRenamed("id", "_g"), "_g", "left")
            .withColumn("_unit", F.coalesce("label", "_g")).drop("label", "_g"))


def fixed_test_hashes(spark, fixed_dir: str) -> DataFrame:
    if "://" not in fixed_dir and not Path(fixed_dir).is_dir():
        raise TunepipeError(f"split.fixed_test_dir {fixed_dir} does not exist: point it at the test "
                            "split of an earlier run, or remove the key to draw a new test split")
    fixed = read_dataset(spark, fixed_dir, "split.fixed_test_dir")
    return fixed.select(row_hash_column().alias("_h")).distinct()


def assign(cfg: Config, rows: DataFrame, fixed: DataFrame | None) -> DataFrame:
    """rows + _split, whole units at a time."""
    unit = Window.partitionBy("_unit")
    stratum = {"none": F.lit(""), "source": F.col("source"), "shape": F.col("shape")}[cfg.split.stratify_by]
    rows = (rows.withColumn("_key", F.min("_h").over(unit))
            .withColumn("_stratum", F.min(F.struct(F.col("_h"), stratum.alias("s"))).over(unit)["s"]))
    if fixed is not None:
        rows = rows.join(fixed.withColumn("_in_fixed", F.lit(True)), "_h", "left")
        rows = rows.withColumn("_fixed", F.max(F.coalesce("_in_fixed", F.lit(False))).over(unit))
    else:
        rows = rows.withColumn("_fixed", F.lit(False))
    train_cut, val_cut = cuts(cfg, fixed is not None)
    u = bucket_column(cfg.split.salt, F.col("_key"))
    if cfg.split.stratify_by == "none":
        position = u
    else:
        units = (rows.filter(~F.col("_fixed")).groupBy("_unit", "_key", "_stratum")
                 .agg(F.count("*").alias("_size")).withColumn("_u", u))
        order = Window.partitionBy("_stratum").orderBy("_u", "_key")
        units = units.select("_unit", ((F.sum("_size").over(order) - F.col("_size") / 2)
                                       / F.sum("_size").over(Window.partitionBy("_stratum"))).alias("_pos"))
        rows = rows.join(units, "_unit", "left")
        position = F.col("_pos")
    return rows.withColumn("_split", F.when(F.col("_fixed"), "test").otherwise(split_of(position, train_cut, val_cut)))


def _check_digest(df: DataFrame, in_dir: str, digest: str) -> None:
    actual = spark_digest(df)
    if actual != digest:
        raise TunepipeError(
            f"the dataset changed after approval: {in_dir} has digest {actual[:12]}..., the approved "
            f"digest is {digest[:12]}.... Review and approve the current dataset, or rerun on the "
            "approved data."
        )


def _breakdown(assigned: DataFrame) -> dict:
    counts = assigned.groupBy("source", "shape", "_split").count().collect()
    out: dict = {"per_source": {}, "per_shape": {}}
    for row in counts:
        for key, value in (("per_source", row["source"]), ("per_shape", row["shape"])):
            entry = out[key].setdefault(value, dict.fromkeys(SPLITS, 0))
            entry[row["_split"]] += row["count"]
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def _unit_stats(assigned: DataFrame) -> dict:
    sizes = assigned.groupBy("_unit").count().filter(F.col("count") > 1)
    row = sizes.agg(F.count("*").alias("units"), F.sum("count").alias("rows")).first()
    return {"groups": row["units"], "grouped_rows": row["rows"] or 0}


def _fixed_stats(assigned: DataFrame, fixed: DataFrame, fixed_dir: str) -> dict:
    matched = assigned.filter(F.col("_in_fixed")).select("_h").distinct()
    return {"dir": fixed_dir, "matched_rows": assigned.filter(F.col("_in_fixed")).count(),
            "missing_rows": fixed.join(matched, "_h", "left_anti").count()}


def split_dataset(cfg: Config, in_dir: str, train_dir: str, val_dir: str, test_dir: str, digest: str) -> dict:
    """Write the three splits of `in_dir`, after checking it still has the approved `digest`."""
    spark = get_spark(cfg)
    df = read_dataset(spark, in_dir, "approved dataset")
    _check_digest(df, in_dir, digest)
    fixed_dir = cfg.split.fixed_test_dir
    fixed = fixed_test_hashes(spark, fixed_dir).persist() if fixed_dir else None
    assigned = assign(cfg, with_units(df), fixed).persist()
    result: dict = {}
    try:
        for name, out_dir in zip(SPLITS, (train_dir, val_dir, test_dir)):
            assigned.filter(F.col("_split") == name).select(*df.columns).write.mode("overwrite").parquet(out_dir)
            rows = spark.read.parquet(out_dir).count()
            artifacts.write_summary(out_dir, {"digest": digest, "rows": rows, "split": name,
                                              "salt": cfg.split.salt})
            result[name] = rows
        details = {"stratify_by": cfg.split.stratify_by, **_unit_stats(assigned), **_breakdown(assigned)}
        if fixed is not None:
            details["fixed_test"] = _fixed_stats(assigned, fixed, fixed_dir)
    finally:
        assigned.unpersist()
        if fixed is not None:
            fixed.unpersist()
    log_metrics({**{f"{k}_rows": v for k, v in result.items()}, "groups": details["groups"]}, prefix="split.")
    return {**result, "digest": digest, **details}
