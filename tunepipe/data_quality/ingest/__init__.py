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
  .jsonl .ndjson (+.gz)  JSON Lines; source_line = physical line (Hadoop splits on \n, \r, \r\n)
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

from tunepipe.data_quality.ingest.discovery import Inputs, expand_paths, list_uri  # noqa: F401
from tunepipe.data_quality.ingest.shapes import classify, field_names  # noqa: F401
from tunepipe.data_quality.ingest.stage import ingest  # noqa: F401
