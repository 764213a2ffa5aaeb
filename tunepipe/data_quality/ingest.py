"""Ingest and validate: raw JSONL / Parquet / CSV files -> internal records + a quarantine table.

Every non-blank input line becomes exactly one row, either a record in the internal schema
(docs/architecture.md) or a quarantine row with a reason code, its source file, its 1-based line
and the raw text. Nothing is dropped silently: blank lines are only counted.

Accepted shapes (keys of one JSON object):
  {"input", "output"}                    NeMo           -> shape prompt_completion
  {"prompt", "completion"}                              -> shape prompt_completion
  {"messages": [{"role", "content"}...]}  optional system first, then user/assistant turns
                                          alternating and ending with assistant -> shape chat
                                          (prompt = last user turn, response = last assistant turn)
  {"question", "contexts", "answer"}      contexts: list of strings or one string -> shape rag

Files: `.jsonl`, `.ndjson` and `.json` (optionally `.gz`) are read as JSON Lines; `.parquet` and
`.csv` (with a header) are read as tables whose rows are validated the same way (source_line is
then the row number). A directory is searched recursively for those extensions.

Only the DataFrame API is used (no RDDs), so the same code runs over Spark Connect. JSON is parsed
with `try_parse_json` into a VARIANT, which keeps JSON types, so a number where text belongs is
reported as `wrong_type` rather than quietly turned into a string. Line numbers come from each
file split's start offset and a per-split row position, without a shuffle of the data.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

from pyspark.sql import Window
from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.tracking import log_metrics
from tunepipe.data_quality.spark import get_spark
from tunepipe.errors import TunepipeError

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
TABLE_SUFFIXES = (".parquet", ".csv")
MAX_LINE_CHARS = 1_000_000
RAW_CHARS = 2000
BLANK = "_blank"
CHAT_ROLES = r"^(system,)?(user,assistant,)*user,assistant$"
RECORD_COLUMNS = ["record_id", "source", "source_line", "shape", "prompt", "context", "response"]
QUARANTINE_COLUMNS = ["source", "source_line", "reason", "detail", "raw"]
FIELDS = ("input", "output", "prompt", "completion", "question", "answer", "contexts", "messages")
# internal kind -> (shape, prompt field, response field)
KINDS = {
    "nemo": ("prompt_completion", "input", "output"),
    "pc": ("prompt_completion", "prompt", "completion"),
    "rag": ("rag", "question", "answer"),
    "chat": ("chat", "messages", "messages"),
}


def ingest(cfg: Config, out_dir: str, quarantine_dir: str) -> dict:
    """Validate every input line; write valid records to `out_dir`, the rest to `quarantine_dir`."""
    files = expand_paths(cfg.data.paths)
    spark = get_spark(cfg)
    rows = classify(read_lines(spark, files)).persist()
    try:
        summary = _summarise(rows.groupBy("source", "reason", "shape", "multi_turn").count().collect())
        if summary["input_rows"] == 0:
            raise TunepipeError(
                f"empty dataset: no records in {', '.join(cfg.data.paths)} "
                f"({summary['blank_lines']} blank lines). Point data.paths at files with JSON Lines records."
            )
        rows.filter(F.col("reason").isNotNull() & (F.col("reason") != BLANK)).select(
            *QUARANTINE_COLUMNS
        ).write.mode("overwrite").parquet(quarantine_dir)
        artifacts.write_summary(quarantine_dir, summary)
        log_metrics(_metrics(summary), prefix="ingest.")
        _check(cfg, summary, quarantine_dir)
        rows.filter(F.col("reason").isNull()).select(*RECORD_COLUMNS).write.mode("overwrite").parquet(out_dir)
    finally:
        rows.unpersist()
    return artifacts.write_summary(out_dir, summary)


def expand_paths(paths: list[str]) -> list[str]:
    """Every input file, in a stable order; local paths are checked up front."""
    files: list[str] = []
    for p in paths:
        if "://" in p and not p.startswith("file:"):
            files.append(p)
            continue
        path = Path(p.removeprefix("file://"))
        if not path.exists():
            raise TunepipeError(f"data path {p} does not exist; fix data.paths in the config")
        if path.is_file():
            files.append(str(path.resolve()))
            continue
        found = sorted(
            str(f.resolve()) for f in path.rglob("*")
            if f.is_file() and f.name.lower().endswith(JSONL_SUFFIXES + TABLE_SUFFIXES)
            and not f.name.startswith(("_", "."))
        )
        if not found:
            raise TunepipeError(
                f"data path {p} is a directory without .jsonl, .json, .ndjson, .parquet or .csv files"
            )
        files.extend(found)
    return list(dict.fromkeys(files))


def read_lines(spark, files: list[str]):
    """One row per physical line (JSONL) or table row: value, source, source_line."""
    jsonl = [p for p in files if not p.lower().endswith(TABLE_SUFFIXES)]
    frames = [spark.read.text(jsonl).select("value", *_position_columns())] if jsonl else []
    for path in files:
        if path.lower().endswith(".parquet"):
            frames.append(_table_as_json(spark.read.parquet(path)))
        elif path.lower().endswith(".csv"):
            frames.append(_table_as_json(spark.read.option("header", True).csv(path)))
    return _number_lines(reduce(lambda a, b: a.unionByName(b), frames)).select(
        "value", _source_name(F.col("_file")).alias("source"), "source_line"
    )


def _position_columns():
    return [
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_mid"),
    ]


def _table_as_json(df):
    row = F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns]))
    return df.select(row.alias("value"), *_position_columns())


def _number_lines(df):
    """source_line = lines in earlier splits of the file + position within the split.

    Rows of one file split are read in order by one task, where monotonically_increasing_id
    counts up by one per row; so only a small per-split aggregate is needed, no window.
    """
    splits = df.groupBy("_file", "_block").agg(F.count("*").alias("_n"), F.min("_mid").alias("_first"))
    before = F.sum("_n").over(Window.partitionBy("_file").orderBy("_block")) - F.col("_n")
    splits = splits.select("_file", "_block", "_first", before.alias("_before"))
    df = df.join(F.broadcast(splits), ["_file", "_block"])
    return df.withColumn("source_line", F.col("_before") + F.col("_mid") - F.col("_first") + 1)


def _source_name(file_path):
    """`file:/a/b%20c.jsonl` -> `/a/b c.jsonl`; other URIs keep their scheme."""
    decoded = F.url_decode(F.regexp_replace(file_path, r"\+", "%2B"))
    return F.regexp_replace(decoded, r"^file:(//)?(?=/)", "")


def _type(field: str, v="v"):
    return F.schema_of_variant(F.variant_get(v, f"$.{field}", "variant"))


def _text(field: str):
    return F.try_variant_get("v", f"$.{field}", "string")


def _pick(kind_col, choices: dict):
    """CASE kind WHEN k1 THEN v1 WHEN k2 THEN v2 ... END"""
    (first, value), *rest = choices.items()
    expr = F.when(kind_col == first, value)
    for key, value in rest:
        expr = expr.when(kind_col == key, value)
    return expr


def classify(lines):
    """Add reason/detail (null for valid rows) and the internal record columns."""
    t = {name: _type(name) for name in FIELDS}
    df = lines.withColumn("v", F.try_parse_json(F.regexp_replace("value", "^\ufeff", ""))).select(
        "*", F.schema_of_variant("v").alias("_top"), *[c.alias(f"_t_{n}") for n, c in t.items()]
    )
    t = {n: F.col(f"_t_{n}") for n in FIELDS}
    present = lambda *names: reduce(lambda a, b: a | b, [t[n].isNotNull() for n in names])  # noqa: E731
    kind = (
        F.when(present("messages"), "chat").when(present("question", "answer", "contexts"), "rag")
        .when(present("input", "output"), "nemo").when(present("prompt", "completion"), "pc")
    )
    df = df.withColumn("_kind", kind)
    df = _with_content(df)
    df = df.withColumn("_failure", _validation(df, t))
    shape = _pick(F.col("_kind"), {k: F.lit(v[0]) for k, v in KINDS.items()})
    location = F.concat_ws(":", "source", F.col("source_line").cast("string"))
    record_id = F.substring(F.sha2(location, 256), 1, 16)
    return df.select(
        record_id.alias("record_id"), "source", "source_line", shape.alias("shape"),
        "prompt", "context", "response", "_failure.reason", "_failure.detail",
        F.substring(F.make_valid_utf8("value"), 1, RAW_CHARS).alias("raw"),
        F.col("_multi_turn").alias("multi_turn"),
    )


def _with_content(df):
    """prompt / context / response for each kind, plus the chat checks' inputs."""
    kind = F.col("_kind")
    msgs_v = F.try_variant_get("v", "$.messages", "array<variant>")
    msgs = F.try_variant_get("v", "$.messages", "array<struct<role:string,content:string>>")
    bad_msg = F.exists(msgs_v, lambda m: (F.coalesce(_type("role", m), F.lit("")) != "STRING")
                       | (F.coalesce(_type("content", m), F.lit("")) != "STRING"))
    roles = F.transform(msgs, lambda m: F.lower(m["role"]))
    contexts = F.when(F.col("_t_contexts") == "STRING", F.array(_text("contexts"))).otherwise(
        F.try_variant_get("v", "$.contexts", "array<string>"))
    passages = F.filter(contexts, lambda c: F.trim(c) != "")
    context = F.when(F.size(passages) > 0, F.array_join(passages, "\n\n"))
    prompt = _pick(kind, {"nemo": _text("input"), "pc": _text("prompt"), "rag": _text("question"),
                          "chat": F.try_element_at(msgs, F.lit(-2))["content"]})
    response = _pick(kind, {"nemo": _text("output"), "pc": _text("completion"), "rag": _text("answer"),
                            "chat": F.try_element_at(msgs, F.lit(-1))["content"]})
    return df.select(
        "*", prompt.alias("prompt"), response.alias("response"),
        F.when(kind == "rag", context).alias("context"),
        F.when(kind == "rag", F.coalesce(F.size(passages), F.lit(0))).alias("_n_passages"),
        bad_msg.alias("_bad_msg"), F.array_join(roles, ",").alias("_roles"),
        (F.size(roles) > F.when(F.try_element_at(roles, F.lit(1)) == "system", 3).otherwise(2))
        .alias("_multi_turn"),
    )


def _validation(df, t: dict):
    """The first failing check names the reason; the order is from coarse to fine."""
    kind = F.col("_kind")
    p_field = _pick(kind, {k: F.lit(v[1]) for k, v in KINDS.items()})
    r_field = _pick(kind, {k: F.lit(v[2]) for k, v in KINDS.items()})
    p_type = _pick(kind, {k: t[v[1]] for k, v in KINDS.items()})
    r_type = _pick(kind, {k: t[v[2]] for k, v in KINDS.items()})
    missing = lambda c: c.isNull() | (c == "VOID")  # noqa: E731
    ctx_ok = t["contexts"].isin("STRING", "ARRAY<STRING>", "ARRAY<VOID>")
    checks = [
        (F.trim(F.col("value")) == "", BLANK, F.lit("blank line")),
        (F.length("value") > MAX_LINE_CHARS, "too_long",
         F.format_string("line has %d characters (limit %d)", F.length("value"), F.lit(MAX_LINE_CHARS))),
        (~F.is_valid_utf8("value"), "invalid_utf8", F.lit("line is not valid UTF-8")),
        (F.col("v").isNull(), "malformed_json",
         F.lit("not a valid JSON object (truncated, garbage or duplicate keys)")),
        (~F.col("_top").startswith("OBJECT"), "wrong_type",
         F.format_string("record is %s, expected a JSON object", F.col("_top"))),
        (kind.isNull(), "unknown_shape",
         F.format_string("keys %s match no shape (input/output, prompt/completion, messages, "
                         "question/contexts/answer)", F.col("_top"))),
        (missing(p_type), "missing_field", F.format_string("missing field '%s'", p_field)),
        (missing(r_type), "missing_field", F.format_string("missing field '%s'", r_field)),
        ((kind == "rag") & missing(t["contexts"]), "missing_field", F.lit("missing field 'contexts'")),
        ((kind == "chat") & ~t["messages"].startswith("ARRAY"), "wrong_type",
         F.format_string("'messages' is %s, expected a list", t["messages"])),
        ((kind == "chat") & F.col("_bad_msg"), "wrong_type",
         F.lit("every message needs a string 'role' and a string 'content'")),
        ((kind != "chat") & (p_type != "STRING"), "wrong_type",
         F.format_string("field '%s' is %s, expected a string", p_field, p_type)),
        ((kind != "chat") & (r_type != "STRING"), "wrong_type",
         F.format_string("field '%s' is %s, expected a string", r_field, r_type)),
        ((kind == "rag") & ~ctx_ok, "wrong_type",
         F.format_string("field 'contexts' is %s, expected a list of strings", t["contexts"])),
        ((kind == "chat") & ~F.col("_roles").rlike(CHAT_ROLES), "bad_chat_roles",
         F.format_string("roles %s: expected optional system, then user/assistant turns ending "
                         "with assistant", F.col("_roles"))),
        (F.trim(F.col("prompt")) == "", "empty_text", F.format_string("'%s' is empty", p_field)),
        (F.trim(F.col("response")) == "", "empty_text", F.format_string("'%s' is empty", r_field)),
        ((kind == "rag") & (F.col("_n_passages") == 0), "empty_text",
         F.lit("'contexts' has no non-empty passage")),
    ]
    failure = None
    for condition, code, detail in checks:
        outcome = F.struct(F.lit(code).alias("reason"), detail.alias("detail"))
        failure = F.when(condition, outcome) if failure is None else failure.when(condition, outcome)
    return failure


def _summarise(counts) -> dict:
    per_source: dict[str, dict] = {}
    reasons: dict[str, int] = {}
    shapes: dict[str, int] = {}
    blank = multi_turn = 0
    for row in counts:
        src = per_source.setdefault(row["source"], {"input_rows": 0, "valid_rows": 0, "quarantined": 0})
        if row["reason"] == BLANK:
            blank += row["count"]
            continue
        src["input_rows"] += row["count"]
        if row["reason"] is None:
            src["valid_rows"] += row["count"]
            shapes[row["shape"]] = shapes.get(row["shape"], 0) + row["count"]
            multi_turn += row["count"] if row["multi_turn"] else 0
        else:
            src["quarantined"] += row["count"]
            reasons[row["reason"]] = reasons.get(row["reason"], 0) + row["count"]
    total = lambda key: sum(s[key] for s in per_source.values())  # noqa: E731
    return {
        "input_rows": total("input_rows"), "valid_rows": total("valid_rows"),
        "quarantined": total("quarantined"), "quarantine_reasons": dict(sorted(reasons.items())),
        "blank_lines": blank, "shapes": dict(sorted(shapes.items())), "multi_turn_chats": multi_turn,
        "per_source": dict(sorted(per_source.items())),
    }


def _metrics(summary: dict) -> dict:
    rate = summary["quarantined"] / summary["input_rows"] if summary["input_rows"] else 0.0
    keys = ("input_rows", "valid_rows", "quarantined", "blank_lines", "multi_turn_chats")
    return {**{k: summary[k] for k in keys}, "quarantine_rate": rate,
            "quarantine_reasons": summary["quarantine_reasons"]}


def _top_reasons(summary: dict, n: int = 3) -> str:
    worst = sorted(summary["quarantine_reasons"].items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{code} {count}" for code, count in worst)


def _check(cfg: Config, summary: dict, quarantine_dir: str) -> None:
    where = (f"Inspect the quarantine table {quarantine_dir} (columns source, source_line, reason, "
             "detail, raw)")
    if summary["valid_rows"] == 0:
        raise TunepipeError(
            f"no valid records: all {summary['input_rows']} input rows were quarantined "
            f"(top reasons: {_top_reasons(summary)}). {where} and fix the input files."
        )
    rate = summary["quarantined"] / summary["input_rows"]
    if rate > cfg.data.max_quarantine_rate:
        raise TunepipeError(
            f"{rate:.1%} of input rows were quarantined ({summary['quarantined']} of "
            f"{summary['input_rows']}), above data.max_quarantine_rate={cfg.data.max_quarantine_rate:g} "
            f"(top reasons: {_top_reasons(summary)}). {where}; fix the source data or raise the limit."
        )
