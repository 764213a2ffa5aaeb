"""Which files a run reads: paths, directories and object-store URIs expanded to files by format; unsupported
and empty files listed, never silently ignored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tunepipe.errors import TunepipeError

log = logging.getLogger(__name__)


TEXT_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


SUPPORTED = ".jsonl, .ndjson, .json, .csv (each optionally .gz) and .parquet"


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


def is_uri(path: str) -> bool:
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
        if is_uri(p) and file_format(p):
            inputs.files.setdefault(p, file_format(p))
        elif is_uri(p):
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
        raise TunepipeError(f"cannot list data path {uri}: {first_line(err)}. Check the URI and the "
                            "object-store connector settings under spark.conf") from None
    return sorted((r["path"], r["length"]) for r in rows)


def report_skipped(inputs: Inputs) -> None:
    if inputs.skipped:
        log.warning("skipped %d file(s) of an unsupported type (supported: %s): %s",
                    len(inputs.skipped), SUPPORTED, ", ".join(inputs.skipped))


def first_line(err: Exception) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(err).__name__
