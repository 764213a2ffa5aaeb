"""Ingest and validate: raw JSONL / JSON / Parquet / CSV files -> internal records + a quarantine table.

Every input record becomes exactly one row, either a record in the internal schema
(docs/architecture.md) or a quarantine row with a reason code, its source file, its 1-based position
and the raw text. Nothing is dropped silently: blank lines are counted, empty files and files of an
unsupported type are listed in the summary (`empty_files`, `skipped_files`, the latter also logged).

Accepted shapes (keys of one JSON object or table row; `data.field_map` renames any of them, e.g.
{prompt: query, completion: reply, messages: conversation, role: from, content: value}):
  {"input", "output"}                    NeMo           -> shape prompt_completion
  {"prompt", "completion"}                              -> shape prompt_completion
  {"instruction", "input"?, "output"}    Alpaca: prompt = instruction, plus a blank line and input
                                         when input is non-empty -> shape prompt_completion
  {"messages": [{"role", "content"}...]}  optional system first, then user/assistant turns
                                          alternating and ending with assistant -> shape chat
                                          (prompt = last user turn, response = last assistant turn)
  {"question", "contexts", "answer"}      contexts: list of strings or one string -> shape rag

Files (a directory is searched recursively; names starting with `_` or `.` are Hadoop/Spark
metadata and are not read):
  .jsonl .ndjson (+.gz)  JSON Lines; source_line = physical line (Hadoop splits on \\n, \\r, \\r\\n)
  .json (+.gz)           a top-level JSON array (first non-blank character `[`): one row per element,
                         source_line = 1-based element index; any other .json file is JSON Lines.
                         A file that is not valid JSON (e.g. truncated) is one `malformed_json` row
                         with source_line 0 (the whole file). The file is parsed whole by one task.
  .parquet               one row per table row; source_line = row number
  .csv (+.gz)            RFC 4180 with a header (quoted fields may hold commas, quotes and newlines);
                         source_line = data row number. A row with more or fewer fields than the
                         header is quarantined as `malformed_csv`. Spark decodes CSV as UTF-8 with
                         replacement characters, so invalid bytes there are not flagged.
Object-store URIs (s3a://, gs://, abfss://, ...) go straight to Spark, whose Hadoop connectors are
configured through spark.conf; a URI without a known suffix is listed as a directory by Spark.

Only the DataFrame API is used (no RDDs), so the same code runs over Spark Connect. JSON is parsed
with `try_parse_json` into a VARIANT, which keeps JSON types, so a number where text belongs is
reported as `wrong_type` rather than quietly turned into a string. Line numbers come from each
file split's start offset and a per-split row position, without a shuffle of the data.
"""

from __future__ import annotations

import gzip
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial, reduce
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote

from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.spark import get_spark
from tunepipe.errors import TunepipeError
from tunepipe.tracking import log_metrics

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
SUPPORTED = ".jsonl, .ndjson, .json, .csv (each optionally .gz) and .parquet"
MAX_LINE_CHARS = 1_000_000
MAX_ARRAY_FILE_BYTES = 512 * 1024 * 1024
RAW_CHARS = 2000
BLANK = "_blank"
CORRUPT = "_tunepipe_corrupt_row"
CSV_FIELD_SEPARATOR = r',(?=(?:[^"]*"[^"]*")*[^"]*$)'
CHAT_ROLES = r"^(system,)?(user,assistant,)*user,assistant$"
RECORD_COLUMNS = ["record_id", "source", "source_line", "shape", "prompt", "context", "response"]
QUARANTINE_COLUMNS = ["source", "source_line", "reason", "detail", "raw"]
FAILURE = "struct<reason:string,detail:string>"
ROW_COLUMNS = ["value", "_file", "source_line", "_preset"]
MESSAGE_FIELDS = ("role", "content")
RECORD_FIELDS = ("instruction", "input", "output", "prompt", "completion", "question", "answer",
                 "contexts", "messages")
FIELDS = RECORD_FIELDS + MESSAGE_FIELDS
# internal kind -> (shape, prompt field, response field), in the order kinds are recognised
KINDS = {
    "chat": ("chat", "messages", "messages"),
    "rag": ("rag", "question", "answer"),
    "alpaca": ("prompt_completion", "instruction", "output"),
    "nemo": ("prompt_completion", "input", "output"),
    "pc": ("prompt_completion", "prompt", "completion"),
}
KIND_KEYS = {"chat": ("messages",), "rag": ("question", "answer", "contexts"),
             "alpaca": ("instruction",), "nemo": ("input", "output"), "pc": ("prompt", "completion")}


def ingest(cfg: Config, out_dir: str, quarantine_dir: str) -> dict:
    """Validate every input record; write valid records to `out_dir`, the rest to `quarantine_dir`."""
    names = field_names(cfg.data.field_map)
    spark = get_spark(cfg)
    inputs = expand_paths(cfg.data.paths, list_uri=partial(list_uri, spark))
    _report_skipped(inputs)
    if not inputs.files:
        raise _empty_dataset(cfg, inputs, blank_lines=0)
    with _read_errors():
        rows = classify(read_records(spark, _resolve_json(spark, inputs.files)), names).persist()
        try:
            summary = _write(cfg, rows, inputs, out_dir, quarantine_dir)
        finally:
            rows.unpersist()
    return artifacts.write_summary(out_dir, summary)


def _write(cfg: Config, rows, inputs: Inputs, out_dir: str, quarantine_dir: str) -> dict:
    """Quarantine first (kept even when the checks fail), then the valid records."""
    summary = _summarise(rows.groupBy("source", "reason", "shape", "multi_turn").count().collect())
    summary.update(skipped_files=inputs.skipped, empty_files=inputs.empty)
    if summary["input_rows"] == 0:
        raise _empty_dataset(cfg, inputs, summary["blank_lines"])
    quarantined = rows.filter(F.col("reason").isNotNull() & (F.col("reason") != BLANK))
    quarantined.select(*QUARANTINE_COLUMNS).write.mode("overwrite").parquet(quarantine_dir)
    artifacts.write_summary(quarantine_dir, summary)
    log_metrics(_metrics(summary), prefix="ingest.")
    _check(cfg, summary, quarantine_dir)
    rows.filter(F.col("reason").isNull()).select(*RECORD_COLUMNS).write.mode("overwrite").parquet(out_dir)
    return summary


def field_names(field_map: dict[str, str]) -> dict[str, str]:
    """Known field -> the name the source uses; a clear error for a field_map that cannot work."""
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise TunepipeError(f"data.field_map has unknown field(s) {', '.join(unknown)}; the known "
                            f"fields are {', '.join(FIELDS)} (map known field -> your column name)")
    bad = sorted(v for v in field_map.values() if not v or "'" in v)
    if bad:
        raise TunepipeError(f"data.field_map names {bad} cannot be used: names must be non-empty "
                            "and contain no single quote")
    names = {f: field_map.get(f, f) for f in FIELDS}
    for group in (RECORD_FIELDS, MESSAGE_FIELDS):
        used: dict[str, str] = {}
        for known in group:
            if names[known] in used:
                raise TunepipeError(
                    f"data.field_map makes '{used[names[known]]}' and '{known}' both read "
                    f"'{names[known]}'; map one of them to another name")
            used[names[known]] = known
    return names


# ----- finding files ---------------------------------------------------------------------------

@dataclass
class Inputs:
    files: dict[str, str] = field(default_factory=dict)
    """path or URI -> format: jsonl, json (array or lines, decided later), parquet or csv"""
    skipped: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def file_format(path: str) -> str | None:
    name = path.lower().rstrip("/")
    if name.endswith(".parquet"):
        return "parquet"
    name = name.removesuffix(".gz")
    return next((fmt for suffix, fmt in TEXT_SUFFIXES.items() if name.endswith(suffix)), None)


def _is_uri(path: str) -> bool:
    return "://" in path and not path.startswith("file:")


def _hidden(relative: Path) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.parts)


def expand_paths(paths: list[str], list_uri: Callable[[str], list[tuple[str, int]]] | None = None) -> Inputs:
    """Every input file with its format, in a stable order; local paths are checked up front.

    A URI with a known suffix (or a glob ending in one) is kept as is; any other URI is a directory
    that `list_uri` lists as (path, size) pairs.
    """
    inputs = Inputs()
    for p in paths:
        if _is_uri(p) and file_format(p):
            inputs.files.setdefault(p, file_format(p))
        elif _is_uri(p):
            if list_uri is None:
                raise TunepipeError(f"data path {p} has no file suffix ({SUPPORTED}) and cannot be listed here")
            _add_listing(inputs, list_uri(p), p)
        else:
            _add_local(inputs, Path(re.sub(r"^file:(//)?", "", p)), p)
    return inputs


def _add_local(inputs: Inputs, path: Path, given: str) -> None:
    if not path.exists():
        raise TunepipeError(f"data path {given} does not exist; fix data.paths in the config")
    if path.is_file():
        if file_format(path.name) is None:
            raise TunepipeError(f"data path {given} is not a supported file type ({SUPPORTED}); "
                                "rename it if it holds one of these formats")
        _add_listing(inputs, [(str(path.resolve()), path.stat().st_size)], given)
        return
    entries = sorted((str(f.resolve()), f.stat().st_size) for f in path.rglob("*")
                     if f.is_file() and not _hidden(f.relative_to(path)))
    _add_listing(inputs, entries, given)


def _add_listing(inputs: Inputs, entries: Iterable[tuple[str, int]], given: str) -> None:
    entries = list(entries)
    for path, size in entries:
        fmt = file_format(path)
        bucket = inputs.skipped if fmt is None else inputs.empty if size == 0 else None
        if bucket is None:
            inputs.files.setdefault(path, fmt)
        elif path not in bucket:
            bucket.append(path)
    if not any(file_format(p) for p, _ in entries):
        raise TunepipeError(f"data path {given} holds no {SUPPORTED} files"
                            + (f" (found only: {', '.join(p for p, _ in entries[:5])})" if entries else ""))


def list_uri(spark, uri: str) -> list[tuple[str, int]]:
    """(path, size) of the files under an object-store prefix, listed by Spark (file contents unread)."""
    try:
        rows = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(uri)
                .select("path", "length").collect())
    except Exception as err:
        raise TunepipeError(f"cannot list data path {uri}: {_first_line(err)}. Check the URI and the "
                            "object-store connector settings under spark.conf") from None
    return sorted((r["path"], r["length"]) for r in rows)


def _report_skipped(inputs: Inputs) -> None:
    if inputs.skipped:
        log.warning("skipped %d file(s) of an unsupported type (supported: %s): %s",
                    len(inputs.skipped), SUPPORTED, ", ".join(inputs.skipped))


def _empty_dataset(cfg: Config, inputs: Inputs, blank_lines: int) -> TunepipeError:
    return TunepipeError(
        f"empty dataset: no records in {', '.join(cfg.data.paths)} ({blank_lines} blank lines, "
        f"{len(inputs.empty)} empty files, {len(inputs.skipped)} skipped files of an unsupported type). "
        f"Point data.paths at {SUPPORTED} files with records."
    )


# ----- reading ---------------------------------------------------------------------------------

def _resolve_json(spark, files: dict[str, str]) -> dict[str, str]:
    """A .json file is a JSON array when its first non-blank character is `[`, else JSON Lines."""
    resolved = {}
    for path, fmt in files.items():
        if fmt == "json":
            fmt = "json_array" if _starts_array(spark, path) else "jsonl"
        resolved[path] = fmt
    return resolved


def _starts_array(spark, path: str) -> bool:
    if _is_uri(path):
        head = (spark.read.text(path).select(F.regexp_replace("value", r"^[\s\ufeff]+", "").alias("t"))
                .where(F.col("t") != "").limit(1).collect())
        return bool(head) and head[0]["t"].startswith("[")
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4096)
    except (OSError, EOFError):
        return False
    is_array = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
    size = Path(path).stat().st_size
    if is_array and size > MAX_ARRAY_FILE_BYTES:
        raise TunepipeError(
            f"{path} is a JSON array file of {size / 2**20:.0f} MiB; array files are parsed whole by one "
            f"task, so the limit is {MAX_ARRAY_FILE_BYTES / 2**20:.0f} MiB. Convert it to JSON Lines, "
            f"e.g. jq -c '.[]' {path} > records.jsonl"
        )
    return is_array


def read_records(spark, files: dict[str, str]):
    """One row per record: value (JSON text, or the raw CSV row), source, source_line, _preset.

    `_preset` is a failure found while reading (a ragged CSV row, an unparsable JSON array file).
    """
    by_format = lambda fmt: [p for p, f in files.items() if f == fmt]  # noqa: E731
    numbered = [spark.read.text(by_format("jsonl")).select("value", *_position_columns(), _no_failure())
                ] if by_format("jsonl") else []
    numbered += [_table_rows(spark.read.parquet(p)) for p in by_format("parquet")]
    numbered += [_csv_rows(spark, p) for p in by_format("csv")]
    frames = [_number_lines(_union(numbered)).select(*ROW_COLUMNS)] if numbered else []
    if by_format("json_array"):
        frames.append(_array_rows(spark, by_format("json_array")))
    source = _source_name(F.col("_file")).alias("source")
    return _union(frames).select("value", source, "source_line", "_preset")


def _union(frames):
    return reduce(lambda a, b: a.unionByName(b), frames)


def _failure(reason: str, detail):
    return F.struct(F.lit(reason).alias("reason"), detail.alias("detail"))


def _no_failure():
    return F.lit(None).cast(FAILURE).alias("_preset")


def _position_columns():
    return [
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_mid"),
    ]


def _column(name: str):
    return F.col("`" + name.replace("`", "``") + "`")


def _table_rows(df):
    row = F.to_json(F.struct(*[_column(c) for c in df.columns]))
    return df.select(row.alias("value"), *_position_columns(), _no_failure())


def _csv_rows(spark, path: str):
    """CSV rows as JSON objects; a row whose field count differs from the header's is kept raw."""
    reader = spark.read.option("header", True).option("multiLine", True).option("escape", '"')
    columns = reader.csv(path).columns
    schema = T.StructType([T.StructField(c, T.StringType()) for c in columns]
                          + [T.StructField(CORRUPT, T.StringType())])
    df = (reader.schema(schema).option("mode", "PERMISSIVE")
          .option("columnNameOfCorruptRecord", CORRUPT).csv(path))
    corrupt = F.col(CORRUPT)
    fields = F.size(F.split(corrupt, CSV_FIELD_SEPARATOR))
    detail = F.format_string("row has %d fields, the header has %d columns", fields, F.lit(len(columns)))
    return df.select(
        F.coalesce(corrupt, F.to_json(F.struct(*[_column(c) for c in columns]))).alias("value"),
        *_position_columns(),
        F.when(corrupt.isNotNull(), _failure("malformed_csv", detail)).cast(FAILURE).alias("_preset"),
    )


def _array_rows(spark, paths: list[str]):
    """One row per element of each JSON array file; an unparsable file is one failed row."""
    files = spark.read.text(paths, wholetext=True).select(
        F.col("_metadata.file_path").alias("_file"), "value",
        F.from_json(_strip_bom("value"), "array<string>").alias("_items"),
        F.is_valid_utf8("value").alias("_utf8"),
    )
    elements = files.where(F.col("_items").isNotNull()).select(
        "_file", "_utf8", F.posexplode("_items").alias("_pos", "_item"))
    replaced = ~F.col("_utf8") & F.col("_item").contains("\ufffd")
    elements = elements.select(
        F.coalesce("_item", F.lit("null")).alias("value"), "_file", (F.col("_pos") + 1).alias("source_line"),
        F.when(replaced, _failure("invalid_utf8", F.lit(
            "the file is not valid UTF-8 and this element holds replaced bytes (U+FFFD)"))).alias("_preset"),
    )
    broken = files.where(F.col("_items").isNull()).select(
        F.substring("value", 1, RAW_CHARS).alias("value"), "_file", F.lit(0).cast("long").alias("source_line"),
        _failure("malformed_json", F.format_string(
            "the whole file (%d characters) is not a valid JSON array (truncated or invalid JSON), so "
            "none of its records could be read; fix or re-export it", F.length("value"))).alias("_preset"),
    )
    return elements.unionByName(broken)


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


def _strip_bom(col: str):
    return F.regexp_replace(col, "^\ufeff", "")


@contextmanager
def _read_errors():
    """A file Spark cannot read (corrupt Parquet, a cut-off .gz) -> an error naming the file."""
    try:
        yield
    except TunepipeError:
        raise
    except Exception as err:
        text = str(err)
        if "FAILED_READ_FILE" not in text:
            raise
        found = re.search(r"reading file (.+?)\.(?:\s|$)", text)
        path = re.sub(r"^file:(//)?(?=/)", "", unquote(found.group(1))) if found else "an input file"
        cause = re.search(r"Caused by: (?:[\w.$]+\.)?(\w+(?:: [^\n]*)?)", text)
        raise TunepipeError(
            f"cannot read {path}: {cause.group(1) if cause else _first_line(err)}. The file is corrupt, "
            "truncated (e.g. a cut-off .gz download) or not in the format its name says; re-create it "
            "or remove it from data.paths"
        ) from None


def _first_line(err: Exception) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(err).__name__


# ----- validating ------------------------------------------------------------------------------

def _path(name: str) -> str:
    return f"$['{name}']"


def _type(name: str, v="v"):
    return F.schema_of_variant(F.variant_get(v, _path(name), "variant"))


def _text(name: str, v="v"):
    return F.try_variant_get(v, _path(name), "string")


def _pick(kind_col, choices: dict):
    """CASE kind WHEN k1 THEN v1 WHEN k2 THEN v2 ... END"""
    (first, value), *rest = choices.items()
    expr = F.when(kind_col == first, value)
    for key, value in rest:
        expr = expr.when(kind_col == key, value)
    return expr


def classify(lines, names: dict[str, str] | None = None):
    """Add reason/detail (null for valid rows) and the internal record columns."""
    names = names or {f: f for f in FIELDS}
    parsed = F.when(F.length("value") <= MAX_LINE_CHARS, F.try_parse_json(_strip_bom("value")))
    df = lines.withColumn("v", parsed).select(
        "*", F.schema_of_variant("v").alias("_top"),
        *[_type(names[f]).alias(f"_t_{f}") for f in RECORD_FIELDS],
    )
    present = lambda keys: reduce(lambda a, b: a | b, [F.col(f"_t_{k}").isNotNull() for k in keys])  # noqa: E731
    kind = reduce(lambda expr, k: expr.when(present(KIND_KEYS[k]), k), list(KINDS)[1:],
                  F.when(present(KIND_KEYS["chat"]), "chat"))
    df = _with_content(df.withColumn("_kind", kind), names)
    df = df.withColumn("_failure", F.coalesce("_preset", _validation(names)))
    shape = _pick(F.col("_kind"), {k: F.lit(v[0]) for k, v in KINDS.items()})
    location = F.concat_ws(":", "source", F.col("source_line").cast("string"))
    record_id = F.substring(F.sha2(location, 256), 1, 16)
    return df.select(
        record_id.alias("record_id"), "source", "source_line", shape.alias("shape"),
        "prompt", "context", "response", "_failure.reason", "_failure.detail",
        F.make_valid_utf8(F.substring("value", 1, RAW_CHARS)).alias("raw"),
        F.col("_multi_turn").alias("multi_turn"),
    )


def _with_content(df, names: dict[str, str]):
    """prompt / context / response for each kind, plus the inputs of the chat and RAG checks."""
    kind = F.col("_kind")
    msgs = F.try_variant_get("v", _path(names["messages"]), "array<variant>")
    role, content = (lambda m: _text(names["role"], m)), (lambda m: _text(names["content"], m))
    is_text = lambda t: F.coalesce(t, F.lit("")) == "STRING"  # noqa: E731
    bad_msg = F.exists(msgs, lambda m: ~is_text(_type(names["role"], m)) | ~is_text(_type(names["content"], m)))
    roles = F.transform(msgs, lambda m: F.lower(role(m)))
    contexts = F.when(F.col("_t_contexts") == "STRING", F.array(_text(names["contexts"]))).otherwise(
        F.try_variant_get("v", _path(names["contexts"]), "array<string>"))
    passages = F.filter(contexts, lambda c: F.trim(c) != "")
    extra = _text(names["input"])
    alpaca = F.when(F.trim(F.coalesce(extra, F.lit(""))) != "",
                    F.concat(_text(names["instruction"]), F.lit("\n\n"), extra))
    prompt_text = _pick(kind, {k: _text(names[v[1]]) for k, v in KINDS.items() if k != "chat"}
                        | {"chat": content(F.try_element_at(msgs, F.lit(-2)))})
    response = _pick(kind, {k: _text(names[v[2]]) for k, v in KINDS.items() if k != "chat"}
                     | {"chat": content(F.try_element_at(msgs, F.lit(-1)))})
    return df.select(
        "*", prompt_text.alias("_prompt_text"),
        F.coalesce(F.when(kind == "alpaca", alpaca), prompt_text).alias("prompt"),
        response.alias("response"),
        F.when(kind == "rag", F.when(F.size(passages) > 0, F.array_join(passages, "\n\n"))).alias("context"),
        F.when(kind == "rag", F.coalesce(F.size(passages), F.lit(0))).alias("_n_passages"),
        bad_msg.alias("_bad_msg"), F.array_join(roles, ",").alias("_roles"),
        (F.size(roles) > F.when(F.try_element_at(roles, F.lit(1)) == "system", 3).otherwise(2))
        .alias("_multi_turn"),
    )


def _validation(names: dict[str, str]):
    """The first failing check names the reason; the order is from coarse to fine."""
    kind = F.col("_kind")
    t = {f: F.col(f"_t_{f}") for f in RECORD_FIELDS}
    p_name = _pick(kind, {k: F.lit(names[v[1]]) for k, v in KINDS.items()})
    r_name = _pick(kind, {k: F.lit(names[v[2]]) for k, v in KINDS.items()})
    p_type = _pick(kind, {k: t[v[1]] for k, v in KINDS.items()})
    r_type = _pick(kind, {k: t[v[2]] for k, v in KINDS.items()})
    p_label = F.when(kind == "chat", "the last user message").otherwise(F.format_string("'%s'", p_name))
    r_label = F.when(kind == "chat", "the last assistant message").otherwise(F.format_string("'%s'", r_name))
    missing = lambda c: c.isNull() | (c == "VOID")  # noqa: E731
    not_text = lambda c: ~missing(c) & (c != "STRING")  # noqa: E731
    ctx_ok = t["contexts"].isin("STRING", "ARRAY<STRING>", "ARRAY<VOID>")
    wrong = lambda name, typ, expected: F.format_string(  # noqa: E731
        f"field '%s' is %s, expected {expected}", F.lit(name) if isinstance(name, str) else name, typ)
    shapes = ", ".join("/".join(names[k] for k in keys) for keys in KIND_KEYS.values())
    checks = [
        (F.trim(F.col("value")) == "", BLANK, F.lit("blank line")),
        (F.length("value") > MAX_LINE_CHARS, "too_long",
         F.format_string("record has %d characters (limit %d)", F.length("value"), F.lit(MAX_LINE_CHARS))),
        (~F.is_valid_utf8("value"), "invalid_utf8", F.lit("line is not valid UTF-8")),
        (F.col("v").isNull(), "malformed_json",
         F.lit("not a valid JSON object (truncated, garbage or duplicate keys)")),
        (~F.col("_top").startswith("OBJECT"), "wrong_type",
         F.format_string("record is %s, expected a JSON object", F.col("_top"))),
        (kind.isNull(), "unknown_shape",
         F.format_string(f"keys %s match no shape ({shapes})", F.col("_top"))),
        (missing(p_type), "missing_field", F.format_string("missing field '%s'", p_name)),
        (missing(r_type), "missing_field", F.format_string("missing field '%s'", r_name)),
        ((kind == "rag") & missing(t["contexts"]), "missing_field",
         F.lit(f"missing field '{names['contexts']}'")),
        ((kind == "chat") & ~t["messages"].startswith("ARRAY"), "wrong_type",
         wrong(names["messages"], t["messages"], "a list of messages")),
        ((kind == "chat") & F.col("_bad_msg"), "wrong_type",
         F.lit(f"every message needs a string '{names['role']}' and a string '{names['content']}'")),
        ((kind != "chat") & (p_type != "STRING"), "wrong_type", wrong(p_name, p_type, "a string")),
        ((kind != "chat") & (r_type != "STRING"), "wrong_type", wrong(r_name, r_type, "a string")),
        ((kind == "alpaca") & not_text(t["input"]), "wrong_type", wrong(names["input"], t["input"], "a string")),
        ((kind == "rag") & ~ctx_ok, "wrong_type",
         wrong(names["contexts"], t["contexts"], "a string or a list of strings")),
        ((kind == "chat") & ~F.col("_roles").rlike(CHAT_ROLES), "bad_chat_roles",
         F.format_string("roles %s: expected optional system, then user/assistant turns ending "
                         "with assistant", F.col("_roles"))),
        (F.trim(F.col("_prompt_text")) == "", "empty_text", F.format_string("%s is empty", p_label)),
        (F.trim(F.col("response")) == "", "empty_text", F.format_string("%s is empty", r_label)),
        ((kind == "rag") & (F.col("_n_passages") == 0), "empty_text",
         F.lit(f"'{names['contexts']}' has no non-empty passage")),
    ]
    failure = None
    for condition, code, detail in checks:
        outcome = _failure(code, detail)
        failure = F.when(condition, outcome) if failure is None else failure.when(condition, outcome)
    return failure


# ----- summary ---------------------------------------------------------------------------------

def _summarise(counts) -> dict:
    per_source: dict[str, dict] = {}
    reasons: dict[str, int] = {}
    shapes: dict[str, int] = {}
    blank = multi_turn = 0
    for row in counts:
        src = per_source.setdefault(row["source"], {"input_rows": 0, "valid_rows": 0, "quarantined": 0,
                                                     "quarantine_reasons": {}})
        n = row["count"]
        if row["reason"] == BLANK:
            blank += n
            continue
        src["input_rows"] += n
        if row["reason"] is None:
            src["valid_rows"] += n
            shapes[row["shape"]] = shapes.get(row["shape"], 0) + n
            multi_turn += n if row["multi_turn"] else 0
        else:
            src["quarantined"] += n
            for bucket in (reasons, src["quarantine_reasons"]):
                bucket[row["reason"]] = bucket.get(row["reason"], 0) + n
    for src in per_source.values():
        src["quarantine_reasons"] = dict(sorted(src["quarantine_reasons"].items()))
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
            "quarantine_reasons": summary["quarantine_reasons"],
            "skipped_files": len(summary["skipped_files"]), "empty_files": len(summary["empty_files"])}


def _top_reasons(reasons: dict, n: int = 3) -> str:
    worst = sorted(reasons.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{code} {count}" for code, count in worst)


def _worst_sources(summary: dict, n: int = 3) -> str:
    worst = sorted(summary["per_source"].items(), key=lambda kv: -kv[1]["quarantined"])[:n]
    return "; ".join(f"{src}: {s['quarantined']} of {s['input_rows']} ({_top_reasons(s['quarantine_reasons'], 2)})"
                     for src, s in worst if s["quarantined"])


def _check(cfg: Config, summary: dict, quarantine_dir: str) -> None:
    where = (f"Most quarantined: {_worst_sources(summary)}. Inspect the quarantine table {quarantine_dir} "
             "(columns source, source_line, reason, detail, raw)")
    if summary["valid_rows"] == 0:
        raise TunepipeError(
            f"no valid records: all {summary['input_rows']} input rows were quarantined "
            f"(top reasons: {_top_reasons(summary['quarantine_reasons'])}). {where} and fix the input files."
        )
    rate = summary["quarantined"] / summary["input_rows"]
    if rate > cfg.data.max_quarantine_rate:
        raise TunepipeError(
            f"{rate:.1%} of input rows were quarantined ({summary['quarantined']} of "
            f"{summary['input_rows']}), above data.max_quarantine_rate={cfg.data.max_quarantine_rate:g} "
            f"(top reasons: {_top_reasons(summary['quarantine_reasons'])}). {where}; fix the source data "
            "or raise the limit."
        )
