"""Reading the files as one row per input record (JSON Lines, JSON arrays, Parquet, CSV) with its source and
1-based position; unreadable input becomes a failure, not an exception.
"""

from __future__ import annotations

import gzip
import re
from contextlib import contextmanager
from functools import reduce
from pathlib import Path
from urllib.parse import unquote

from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from tunepipe.data_quality.ingest.discovery import first_line, is_uri
from tunepipe.errors import TunepipeError

MAX_LINE_CHARS = 1_000_000


MAX_ARRAY_FILE_BYTES = 512 * 1024 * 1024


RAW_CHARS = 2000


CORRUPT = "_tunepipe_corrupt_row"


CSV_FIELD_SEPARATOR = r',(?=(?:[^"]*"[^"]*")*[^"]*$)'


FAILURE = "struct<reason:string,detail:string>"


ROW_COLUMNS = ["value", "_file", "source_line", "_preset"]


def resolve_json(spark, files: dict[str, str]) -> dict[str, str]:
    """A .json file is a JSON array when its first non-blank character is `[`, else JSON Lines."""
    resolved = {}
    for path, fmt in files.items():
        if fmt == "json":
            fmt = "json_array" if _starts_array(spark, path) else "jsonl"
        resolved[path] = fmt
    return resolved


def _starts_array(spark, path: str) -> bool:
    if is_uri(path):
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


def failure_struct(reason: str, detail):
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
        F.when(corrupt.isNotNull(), failure_struct("malformed_csv", detail)).cast(FAILURE).alias("_preset"),
    )


def _array_rows(spark, paths: list[str]):
    """One row per element of each JSON array file; an unparsable file is one failed row."""
    files = spark.read.text(paths, wholetext=True).select(
        F.col("_metadata.file_path").alias("_file"), "value",
        F.from_json(strip_bom("value"), "array<string>").alias("_items"),
        F.is_valid_utf8("value").alias("_utf8"),
    )
    elements = files.where(F.col("_items").isNotNull()).select(
        "_file", "_utf8", F.posexplode("_items").alias("_pos", "_item"))
    replaced = ~F.col("_utf8") & F.col("_item").contains("\ufffd")
    elements = elements.select(
        F.coalesce("_item", F.lit("null")).alias("value"), "_file", (F.col("_pos") + 1).alias("source_line"),
        F.when(replaced, failure_struct("invalid_utf8", F.lit(
            "the file is not valid UTF-8 and this element holds replaced bytes (U+FFFD)"))).alias("_preset"),
    )
    broken = files.where(F.col("_items").isNull()).select(
        F.substring("value", 1, RAW_CHARS).alias("value"), "_file", F.lit(0).cast("long").alias("source_line"),
        failure_struct("malformed_json", F.format_string(
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


def strip_bom(col: str):
    return F.regexp_replace(col, "^\ufeff", "")


@contextmanager
def read_errors():
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
            f"cannot read {path}: {cause.group(1) if cause else first_line(err)}. The file is corrupt, "
            "truncated (e.g. a cut-off .gz download) or not in the format its name says; re-create it "
            "or remove it from data.paths"
        ) from None
