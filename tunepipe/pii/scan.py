"""`tunepipe pii scan`: the PII that detection finds in one text field of any JSONL file.

For every input line, in input order, one JSON line comes out: `{"line": n, "spans": [{"start",
"end", "entity_type", "score"}], "redacted": "..."}`, where offsets index the field's text and the
redacted text shows each span as its typed placeholder (`<PERSON>`), whatever `pii.actions` says.
A line that cannot be scanned (not JSON, not an object, no such field, a value that is not a
string, a text longer than `pii.max_text_chars`, bytes that are not UTF-8, a blank line) gets
`{"line": n, "error": "..."}` instead: no line is skipped and none stops the scan. Lines go through
the same engines as the Spark stage (`rai.detect`), a batch at a time, so memory stays flat on
big files.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, TextIO

from tunepipe.config import apply_overrides, read_yaml, validate_config
from tunepipe.errors import TunepipeError
from tunepipe.pii.detect import PiiSettings, check_settings, engines, find_spans, too_long

BATCH_LINES = 256


@dataclass
class ScanSummary:
    lines: int = 0
    errors: int = 0
    with_pii: int = 0
    entities: Counter = field(default_factory=Counter)


def load_settings(config: Path | None, overrides: list[str]) -> PiiSettings:
    """PII settings from a project config (or the defaults) plus `key=value` overrides, checked."""
    raw = read_yaml(config) if config else {}
    raw.setdefault("data", {"paths": ["(unused by pii scan)"]})
    cfg = validate_config(apply_overrides(raw, overrides), str(config or "(defaults)"))
    check_settings(cfg)
    return PiiSettings.from_config(cfg)


def field_value(record: dict, name: str):
    """`record[name]`, or a nested value for a dotted name ("meta.body") the record has no key for."""
    if name in record:
        return record[name]
    value = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(name)
        value = value[part]
    return value


def _text_or_error(raw: bytes, name: str, settings: PiiSettings) -> tuple[str | None, str | None]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 ({err.reason} at byte {err.start})"
    if not line.strip():
        return None, "blank line"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err.msg} at column {err.colno})"
    if not isinstance(record, dict):
        return None, f"not a JSON object (a {type(record).__name__})"
    try:
        value = field_value(record, name)
    except KeyError:
        return None, f"no field {name!r}"
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        return None, f"field {name!r} is {kind}, not a string"
    if too_long(value, settings):
        return None, f"text of {len(value)} characters is longer than pii.max_text_chars ({settings.max_text_chars})"
    return value, None


def _detect(texts: list[str], settings: PiiSettings) -> list:
    """Spans per text; when the batch fails, text by text, with the exception for a text that fails."""
    try:
        return find_spans(texts, settings)
    except Exception:
        found = []
        for text in texts:
            try:
                found += find_spans([text], settings)
            except Exception as err:
                found.append(err)
        return found


def _scan_batch(batch: list[tuple[int, bytes]], name: str, settings: PiiSettings) -> Iterator[dict]:
    parsed = [(n, *_text_or_error(raw, name, settings)) for n, raw in batch]
    found = iter(_detect([text for _, text, _ in parsed if text is not None], settings))
    _, anonymizer = engines(settings)
    for n, text, error in parsed:
        spans = next(found) if error is None else None
        if isinstance(spans, Exception):
            error = f"detection failed ({type(spans).__name__}: {spans})"
        if error is not None:
            yield {"line": n, "error": error}
            continue
        spans = sorted(spans, key=lambda r: (r.start, r.end))
        redacted = anonymizer.anonymize(text, spans).text if spans else text
        yield {
            "line": n,
            "spans": [{"start": r.start, "end": r.end, "entity_type": r.entity_type, "score": round(r.score, 3)}
                      for r in spans],
            "redacted": redacted,
        }


def _batches(source: BinaryIO, size: int, on_bytes: Callable[[int], None] | None) -> Iterator[list]:
    batch: list[tuple[int, bytes]] = []
    for n, raw in enumerate(source, start=1):
        batch.append((n, raw.rstrip(b"\r\n")))
        if on_bytes:
            on_bytes(len(raw))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def scan(source: BinaryIO, name: str, out: TextIO, settings: PiiSettings,
         on_bytes: Callable[[int], None] | None = None, batch_lines: int = BATCH_LINES) -> ScanSummary:
    """Scan the JSONL lines of `source` (a binary file), writing one JSON line per input line to `out`."""
    summary = ScanSummary()
    for batch in _batches(source, batch_lines, on_bytes):
        for result in _scan_batch(batch, name, settings):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            summary.lines += 1
            summary.errors += "error" in result
            if result.get("spans"):
                summary.with_pii += 1
                summary.entities.update({s["entity_type"] for s in result["spans"]})
    return summary


def open_input(path: Path) -> BinaryIO:
    if not path.is_file():
        raise TunepipeError(f"input file {path} not found")
    return open(path, "rb")


def open_output(path: Path | None):
    """The file to write (a context manager), or stdout, left open, when `path` is None."""
    if path is None:
        return nullcontext(sys.stdout)
    if not path.parent.is_dir():
        raise TunepipeError(f"cannot write {path}: folder {path.parent} does not exist")
    return open(path, "w", encoding="utf-8")
