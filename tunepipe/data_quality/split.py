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
  per-stratum ratios. (The ranking sorts each stratum's units in one task: fine for millions of
  groups, not for billions.)
- `split.fixed_test_dir`: a previous test split. Units holding a row whose content hash is in it
  form the test split; every other unit goes to train or validation only, at the renormalised
  ratios (a hash position that would mean test is folded back into train + validation, so rows
  already in train or validation stay there). Scheduled retraining is then judged on a stable
  held-out set, and new data never enters it.
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


def place(cfg: Config, position: Column, fixed_test: bool, stratified: bool) -> Column:
    """The split at `position` in [0, 1).

    With a fixed test set nothing new goes to test: ranked positions are scaled into the train and
    validation share; hash positions that would fall in test are folded back into it, so rows that
    were in train or validation stay there.
    """
    train, val = cfg.split.train, cfg.split.validation
    if fixed_test and stratified:
        position = position * (train + val)
    elif fixed_test:
        folded = (position - train - val) / (1.0 - train - val) * (train + val)
        position = F.when(position < train + val, position).otherwise(folded)
    return F.when(position < train, "train").when(position < train + val, "validation").otherwise("test")


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


def mark_units(cfg: Config, rows: DataFrame, fixed: DataFrame | None) -> DataFrame:
    """_key (the unit's smallest content hash), _stratum (its key row's), _fixed and _in_fixed."""
    unit = Window.partitionBy("_unit")
    stratum = {"none": F.lit(""), "source": F.col("source"), "shape": F.col("shape")}[cfg.split.stratify_by]
    rows = (rows.withColumn("_key", F.min("_h").over(unit))
            .withColumn("_stratum", F.min(F.struct(F.col("_h"), stratum.alias("s"))).over(unit)["s"]))
    if fixed is None:
        return rows.withColumn("_in_fixed", F.lit(False)).withColumn("_fixed", F.lit(False))
    rows = rows.join(fixed.withColumn("_in_fixed", F.lit(True)), "_h", "left").fillna(False, ["_in_fixed"])
    return rows.withColumn("_fixed", F.max("_in_fixed").over(unit))


def ranked(rows: DataFrame, u: Column) -> DataFrame:
    """rows + _pos: where the middle of the row's unit falls among its stratum's rows, ordered by u."""
    units = (rows.filter(~F.col("_fixed")).groupBy("_unit", "_key", "_stratum")
             .agg(F.count("*").alias("_size")).withColumn("_u", u))
    before = F.sum("_size").over(Window.partitionBy("_stratum").orderBy("_u", "_key")) - F.col("_size") / 2
    total = F.sum("_size").over(Window.partitionBy("_stratum"))
    return rows.join(units.select("_unit", (before / total).alias("_pos")), "_unit", "left")


def assign(cfg: Config, rows: DataFrame, fixed: DataFrame | None) -> DataFrame:
    """rows + _split, whole units at a time."""
    rows = mark_units(cfg, rows, fixed)
    u = bucket_column(cfg.split.salt, F.col("_key"))
    stratified = cfg.split.stratify_by != "none"
    if stratified:
        rows, position = ranked(rows, u), F.col("_pos")
    else:
        position = u
    split = place(cfg, position, fixed is not None, stratified)
    return rows.withColumn("_split", F.when(F.col("_fixed"), "test").otherwise(split))


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
    """Rows of the input found in the fixed test set, and fixed test contents no longer in the input."""
    matched = assigned.filter(F.col("_in_fixed"))
    return {"dir": fixed_dir, "matched_rows": matched.count(),
            "missing_rows": fixed.join(matched.select("_h"), "_h", "left_anti").count()}


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
