"""Remove exact and near duplicates, and group the similar rows that remain so no split leaks them.

Exact duplicates share a key: the SHA-256 of prompt, context and response after lowercasing and
folding whitespace (the clean stage already normalised Unicode and markup, so case and spacing
are all that is left to ignore). Each key keeps the row with the smallest record_id, within and
across sources.

Near duplicates come from Spark MLlib's MinHash: word `dedup.shingle_size`-grams of the
lowercased prompt and response (character grams for texts shorter than that; the context is left out
so RAG rows that share a long passage but ask different questions do not collapse), hashed with
HashingTF into binary vectors, and b x r MinHash values per row from MinHashLSH. MLlib's own
approxSimilarityJoin ORs single hashes, so on templated text, where most rows share a little with many
others, its candidate pairs grow with the square of the data (1M records ran over 45 minutes). Here
the values are ANDed in bands instead: rows are candidates when all r values of some band agree, which
happens with probability 1 - (1 - s**r)**b at Jaccard s. Unless `dedup.bands` and `dedup.rows_per_band`
are set, `band_shape` picks the longest bands (fewest chance candidates) that still find a pair at the
lowest wanted threshold with probability `dedup.candidate_recall` (0.9999) from at most MAX_VALUES
values: the default threshold 0.7 gives r=3, b=22 (0.9999 at 0.7, 0.95 at 0.5, 0.02 at 0.1); 0.5
gives r=2, b=33. A band bucket of more than `dedup.max_bucket` rows links each row to the bucket's
smallest id only, so a few giant buckets cannot blow up the pairs. Every candidate pair then gets its
exact Jaccard on the shingles (64-bit hashes of them), once.

- Pairs with Jaccard >= `dedup.near_threshold` link near-duplicate clusters (connected
  components); each cluster keeps its smallest record_id and the rest are removed.
- Pairs with Jaccard >= `dedup.group_threshold` between kept rows link groups; the output column
  group_id is the smallest record_id of the row's group (its own id when alone), so the split can
  put whole groups on one side.

Every removed row goes to `removed_dir` with stage "dedup", reason exact_duplicate or
near_duplicate and a detail naming the row it duplicates. Accounting, per source as in total:
input_rows = kept + exact_duplicates + near_duplicates. `groups` counts the groups of two or more
kept rows; `grouped_rows` the rows in them. The examples of `largest_clusters` are redacted with the
configured PII policy (`pii.examples`); both tables hold raw text and their summaries say so.
"""

from __future__ import annotations

import math

from pyspark.ml.feature import HashingTF, MinHashLSH
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.common import REMOVED_COLUMNS, read_dataset
from tunepipe.data_quality.spark import get_spark
from tunepipe.errors import TunepipeError
from tunepipe.pii.examples import mark_sensitive, redact_examples
from tunepipe.tracking import log_metrics

REQUIRED = ("record_id", "source", "source_line", "prompt", "context", "response")
NUM_FEATURES = 1 << 20
LSH_SEED = 1729
MAX_ROUNDS = 40
BROADCAST_IDS = 1_000_000
MAX_VALUES = 96
EXAMPLE_CHARS = 160
_SEP = "\u241f"
_NULL = "\u2400"


def exact_key() -> Column:
    """SHA-256 of prompt, context and response, lowercased with whitespace runs folded to one space."""
    def fold(name: str) -> Column:
        return F.lower(F.regexp_replace(F.trim(F.col(name)), r"\s+", " "))

    return F.sha2(F.concat_ws(_SEP, F.coalesce(fold("prompt"), F.lit("")),
                              F.coalesce(fold("context"), F.lit(_NULL)),
                              F.coalesce(fold("response"), F.lit(""))), 256)


def shingles_column(k: int) -> Column:
    """Distinct word k-grams of the lowercased prompt + response; character k-grams under k words."""
    text = F.lower(F.concat_ws("\n", F.col("prompt"), F.col("response")))
    words = F.filter(F.split(text, r"[^\p{L}\p{N}]+"), lambda w: w != "")
    n = F.size(words)
    word_grams = F.transform(F.sequence(F.lit(0), F.greatest(n - k, F.lit(0))),
                             lambda i: F.array_join(F.slice(words, i + 1, k), " "))
    folded = F.array_join(words, " ")
    char_grams = F.transform(F.sequence(F.lit(1), F.greatest(F.length(folded) - k + 1, F.lit(1))),
                             lambda i: F.substring(folded, i, k))
    grams = F.when(n >= k, word_grams).otherwise(char_grams)
    return F.array_distinct(F.filter(grams, lambda g: g != ""))


def shingle_hashes(k: int) -> Column:
    """The distinct 64-bit hashes of the row's shingles (exact Jaccard up to 2**-64 collisions)."""
    return F.array_distinct(F.transform(shingles_column(k), lambda g: F.xxhash64(g)))


def band_shape(cfg: Config, threshold: float) -> tuple[int, int]:
    """(bands b, values per band r): the configured pair if set. Otherwise, for each r, b is the fewest
    bands that find a pair at Jaccard `threshold` with probability candidate_recall; the largest r with
    b * r <= MAX_VALUES wins (r = 1 with as many bands as it takes when none fits)."""
    if cfg.dedup.bands is not None:
        return cfg.dedup.bands, cfg.dedup.rows_per_band

    def needed(r: int) -> int:
        hit = threshold ** r
        return 1 if hit >= 1 else math.ceil(math.log1p(-cfg.dedup.candidate_recall) / math.log1p(-hit))

    fits = [r for r in range(1, MAX_VALUES + 1) if needed(r) * r <= MAX_VALUES]
    r = max(fits, default=1)
    return needed(r), r


def signatures(cfg: Config, rows: DataFrame, tables: int) -> DataFrame:
    """(record_id, _values: the row's `tables` MinHash values) for every row with at least one shingle."""
    shingled = (rows.select("record_id", shingles_column(cfg.dedup.shingle_size).alias("_shingles"))
                .filter(F.size("_shingles") > 0))
    tf = HashingTF(inputCol="_shingles", outputCol="_features", numFeatures=NUM_FEATURES, binary=True)
    features = tf.transform(shingled)
    model = MinHashLSH(inputCol="_features", outputCol="_hashes", numHashTables=tables, seed=LSH_SEED)
    values = F.transform("_hashes", lambda v: vector_to_array(v)[0].cast("int"))
    return model.fit(features).transform(features).select("record_id", values.alias("_values"))


def candidate_pairs(signed: DataFrame, bands: int, r: int, max_bucket: int) -> DataFrame:
    """Distinct (a, b), a < b, whose MinHash values agree on all r of some band; the rows of a bucket
    above max_bucket pair with its smallest id only.

    Buckets of one row (nearly all of them) are dropped by a count over fixed-width keys before any
    row id is sorted. `signed` must be persisted: the band keys read its _values column `bands`
    times, and over an uncached plan Spark would inline (recompute) the MinHash for each read.
    """
    keys = F.transform(F.sequence(F.lit(0), F.lit(bands - 1)),
                       lambda i: F.xxhash64(F.slice("_values", i * r + 1, r)))
    keyed = signed.select("record_id", F.posexplode(keys).alias("_band", "_key"))
    shared = keyed.groupBy("_band", "_key").count().filter(F.col("count") > 1).drop("count")
    bucket = Window.partitionBy("_band", "_key")
    buckets = (keyed.join(shared, ["_band", "_key"], "left_semi")
               .withColumn("_size", F.count("*").over(bucket)).withColumn("_first", F.min("record_id").over(bucket)))
    small = buckets.filter(F.col("_size") <= max_bucket).select("_band", "_key", "record_id")
    within = (small.alias("x").join(small.alias("y"), ["_band", "_key"])
              .select(F.col("x.record_id").alias("a"), F.col("y.record_id").alias("b")))
    starred = (buckets.filter(F.col("_size") > max_bucket)
               .select(F.col("_first").alias("a"), F.col("record_id").alias("b")))
    return within.unionByName(starred).filter(F.col("a") < F.col("b")).distinct()


def similar_pairs(cfg: Config, rows: DataFrame, min_jaccard: float) -> DataFrame:
    """(a, b, jaccard) with a < b for every candidate pair at exact Jaccard >= min_jaccard, checkpointed.

    Shingles are hashed again only for the rows in some candidate pair, a small share of the data.
    """
    bands, r = band_shape(cfg, min_jaccard)
    signed = signatures(cfg, rows, bands * r).persist()
    try:
        candidates = candidate_pairs(signed, bands, r, cfg.dedup.max_bucket).localCheckpoint()
    finally:
        signed.unpersist()
    ids = (candidates.select(F.col("a").alias("record_id"))
           .union(candidates.select(F.col("b").alias("record_id"))).distinct().localCheckpoint())
    if ids.count() <= BROADCAST_IDS:
        ids = F.broadcast(ids)
    shingles = rows.join(ids, "record_id", "left_semi").select(
        "record_id", shingle_hashes(cfg.dedup.shingle_size).alias("_s"))
    left, right = shingles.toDF("a", "_sa"), shingles.toDF("b", "_sb")
    common = F.size(F.array_intersect("_sa", "_sb"))
    jaccard = common / (F.size("_sa") + F.size("_sb") - common)
    return (candidates.join(left, "a").join(right, "b")
            .select("a", "b", F.round(jaccard, 9).alias("jaccard"))
            .filter(F.col("jaccard") >= min_jaccard).localCheckpoint())


def connected_components(edges: DataFrame, what: str) -> DataFrame:
    """(id, label) for every id on an edge (a, b): label = the smallest id of its component.

    Each round a node takes the smallest of its own label, its neighbours' labels and its label's
    label (pointer jumping, so long chains settle in few rounds); labels are checkpointed each
    round, and the loop stops when none changed.
    """
    both = (edges.select(F.col("a").alias("src"), F.col("b").alias("dst"))
            .union(edges.select(F.col("b").alias("src"), F.col("a").alias("dst"))))
    labels = both.groupBy(F.col("src").alias("id")).agg(F.least(F.col("src"), F.min("dst")).alias("label"))
    for _ in range(MAX_ROUNDS):
        current = labels.select("id", "label", F.col("label").alias("_old"))
        spread = both.join(labels.withColumnRenamed("id", "src"), "src").select(
            F.col("dst").alias("id"), "label", F.lit(None).cast("string").alias("_old"))
        jumped = labels.alias("l").join(labels.alias("p"), F.col("l.label") == F.col("p.id")).select(
            F.col("l.id").alias("id"), F.col("p.label").alias("label"), F.lit(None).cast("string").alias("_old"))
        updated = (current.unionByName(spread).unionByName(jumped).groupBy("id")
                   .agg(F.min("label").alias("label"), F.min("_old").alias("_old")).localCheckpoint())
        changed = updated.filter(F.col("label") != F.col("_old")).count()
        labels = updated.drop("_old")
        if changed == 0:
            return labels
    raise TunepipeError(
        f"{what}: linking similar rows did not settle in {MAX_ROUNDS} rounds (very long chains of "
        "similar rows). Raise dedup.near_threshold / dedup.group_threshold, or check the data for "
        "templated rows that differ only in a few words."
    )


def near_decisions(spark, pairs: DataFrame | None, near: float | None) -> DataFrame:
    """(record_id, _rep, _via, _jaccard) for each survivor removed as a near duplicate, checkpointed.

    _rep is the smallest record_id of its cluster; _via the row its reported Jaccard is with: the
    representative when they are linked directly, else its most similar neighbour.
    """
    if pairs is None or near is None:
        return spark.createDataFrame([], "record_id string, _rep string, _via string, _jaccard double")
    edges = pairs.filter(F.col("jaccard") >= near)
    labels = connected_components(edges, "near-duplicate clusters").filter(F.col("id") != F.col("label"))
    both = edges.union(edges.select(F.col("b").alias("a"), F.col("a").alias("b"), "jaccard"))
    best = F.min(F.struct((F.col("b") != F.col("label")).alias("_not_rep"), (-F.col("jaccard")).alias("_neg"),
                          F.col("b").alias("_via")))
    return (labels.join(both, labels.id == both.a).groupBy("id", "label").agg(best.alias("_best"))
            .select(F.col("id").alias("record_id"), F.col("label").alias("_rep"),
                    F.col("_best._via").alias("_via"), (-F.col("_best._neg")).alias("_jaccard"))
            .localCheckpoint())


def group_labels(spark, pairs: DataFrame | None, removed: DataFrame, group: float | None) -> DataFrame:
    """(id, label): the group of every kept row linked to another kept row at Jaccard >= group."""
    if pairs is None or group is None:
        return spark.createDataFrame([], "id string, label string")
    gone = removed.select("record_id")
    edges = (pairs.filter(F.col("jaccard") >= group)
             .join(gone.withColumnRenamed("record_id", "a"), "a", "left_anti")
             .join(gone.withColumnRenamed("record_id", "b"), "b", "left_anti"))
    return connected_components(edges, "near-duplicate groups")


def _detail() -> Column:
    score = F.format_number("_jaccard", 2)
    near = F.when(F.col("_via") == F.col("_rep"), F.format_string("duplicate of %s (jaccard %s)", "_rep", score)) \
        .otherwise(F.format_string("duplicate of %s via %s (jaccard %s with %s)", "_rep", "_via", score, "_via"))
    return F.when(F.col("_reason") == "exact_duplicate", F.format_string("duplicate of %s", "_rep")) \
        .otherwise(near)


def decide(cfg: Config, rows: DataFrame) -> DataFrame:
    """`rows` with _reason (null = kept), _rep, _via, _jaccard, group_id and _cluster (the kept row
    a removed row's chain of duplicates ends at; kept rows: themselves)."""
    spark = rows.sparkSession
    exact_dup = F.lit(cfg.dedup.exact) & (F.col("record_id") != F.col("_exact_rep"))
    near, group = (cfg.dedup.near_threshold if cfg.dedup.near else None), cfg.dedup.group_threshold
    wanted = [t for t in (near, group) if t is not None]
    pairs = similar_pairs(cfg, rows.filter(~exact_dup), min(wanted)) if wanted else None
    removed = near_decisions(spark, pairs, near)
    labels = group_labels(spark, pairs, removed, group).withColumnRenamed("id", "record_id")
    final = removed.select(F.col("record_id").alias("_exact_rep"), F.col("_rep").alias("_final"))
    reason = F.col("_reason")
    return (rows.join(removed, "record_id", "left").join(labels, "record_id", "left")
            .join(final, "_exact_rep", "left")
            .withColumn("_reason", F.when(exact_dup, "exact_duplicate")
                        .when(F.col("_rep").isNotNull(), "near_duplicate"))
            .withColumn("_cluster", F.when(reason.isNull(), F.col("record_id"))
                        .when(reason == "near_duplicate", F.col("_rep"))
                        .otherwise(F.coalesce("_final", "_exact_rep")))
            .withColumn("_rep", F.when(exact_dup, F.col("_exact_rep")).otherwise(F.col("_rep")))
            .withColumn("group_id", F.when(reason.isNull(), F.coalesce("label", "_exact_rep")))
            .drop("label", "_final"))


def largest_clusters(decided: DataFrame, top: int) -> list[dict]:
    """The `top` biggest duplicate clusters: representative, size, sources, up to 3 example texts (raw)."""
    if top <= 0:
        return []
    sizes = (decided.groupBy("_cluster")
             .agg(F.count("*").alias("size"), F.array_sort(F.collect_set("source")).alias("sources"))
             .filter(F.col("size") > 1).orderBy(F.desc("size"), "_cluster").limit(top).collect())
    if not sizes:
        return []
    example = F.concat_ws(" \u2192 ", "prompt", "response")
    order = Window.partitionBy("_cluster").orderBy(F.col("_reason").isNotNull(), "record_id")
    examples: dict[str, list[str]] = {}
    for row in (decided.filter(F.col("_cluster").isin([r["_cluster"] for r in sizes]))
                .select("_cluster", "record_id", example.alias("example"), F.row_number().over(order).alias("n"))
                .filter(F.col("n") <= 3).orderBy("_cluster", "n").collect()):
        examples.setdefault(row["_cluster"], []).append(row["example"])
    return [{"representative": r["_cluster"], "size": r["size"], "sources": list(r["sources"]),
             "examples": examples.get(r["_cluster"], [])} for r in sizes]


def redact_clusters(cfg: Config, clusters: list[dict]) -> list[dict]:
    """The clusters' examples redacted as the PII stage would (before any cut, so no value is half seen),
    then cut to EXAMPLE_CHARS."""
    redacted = iter(redact_examples(cfg, [e for c in clusters for e in c["examples"]]))
    clip = lambda t: t if len(t) <= EXAMPLE_CHARS else t[:EXAMPLE_CHARS - 1] + "\u2026"  # noqa: E731
    return [{**c, "examples": [clip(next(redacted)) for _ in c["examples"]]} for c in clusters]


def summarise(decided: DataFrame, top: int) -> dict:
    counts = decided.groupBy("source", "_reason").count().collect()
    per_source: dict[str, dict] = {}
    for row in counts:
        entry = per_source.setdefault(row["source"], {"input_rows": 0, "kept": 0, "exact_duplicates": 0,
                                                      "near_duplicates": 0})
        key = {None: "kept", "exact_duplicate": "exact_duplicates", "near_duplicate": "near_duplicates"}[row["_reason"]]
        entry[key] += row["count"]
        entry["input_rows"] += row["count"]
    total = {k: sum(e[k] for e in per_source.values())
             for k in ("input_rows", "kept", "exact_duplicates", "near_duplicates")}
    groups = (decided.filter(F.col("_reason").isNull()).groupBy("group_id").count()
              .filter(F.col("count") > 1).agg(F.count("*").alias("g"), F.sum("count").alias("r")).first())
    return {**total, "groups": groups["g"], "grouped_rows": groups["r"] or 0,
            "per_source": dict(sorted(per_source.items())),
            "largest_clusters": largest_clusters(decided, top)}


def _check_columns(df: DataFrame, in_dir: str) -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise TunepipeError(f"{in_dir} lacks the columns {missing}: deduplicate reads the output of "
                            "the clean stage; run it first (or point at its output directory)")


def write_outputs(decided: DataFrame, columns: list[str], out_dir: str, removed_dir: str) -> None:
    kept = decided.filter(F.col("_reason").isNull())
    kept.select(*columns, "group_id").write.mode("overwrite").parquet(out_dir)
    removed = (decided.filter(F.col("_reason").isNotNull())
               .withColumns({"stage": F.lit("dedup"), "reason": F.col("_reason"), "detail": _detail()}))
    removed.select(*REMOVED_COLUMNS).write.mode("overwrite").parquet(removed_dir)


def deduplicate(cfg: Config, in_dir: str, out_dir: str, removed_dir: str) -> dict:
    """Write the kept rows (input columns + group_id) to out_dir and every removed row to removed_dir."""
    spark = get_spark(cfg)
    df = read_dataset(spark, in_dir, "cleaned dataset")
    _check_columns(df, in_dir)
    columns = [c for c in df.columns if c != "group_id"]
    rows = (df.select(*columns).withColumn("_key", exact_key())
            .withColumn("_exact_rep", F.min("record_id").over(Window.partitionBy("_key"))).persist())
    decided = None
    try:
        decided = decide(cfg, rows).persist()
        write_outputs(decided, columns, out_dir, removed_dir)
        summary = summarise(decided, cfg.dedup.report_clusters)
    finally:
        for frame in (decided, rows):
            if frame is not None:
                frame.unpersist()
    summary["largest_clusters"] = redact_clusters(cfg, summary["largest_clusters"])
    artifacts.write_summary(out_dir, mark_sensitive(summary))
    removed = {k: summary[k] for k in ("exact_duplicates", "near_duplicates")}
    artifacts.write_summary(removed_dir, mark_sensitive(removed))
    log_metrics(summary, prefix="dedup.")
    return summary
