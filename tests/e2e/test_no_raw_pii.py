"""The e2e run's logs, pipeline artifacts and MLflow store hold none of the PII planted in its input, nor the
PII salt, outside the tables marked as holding raw text (the ingest, clean and dedup datasets)."""

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import PII_SALT, PLANTED

pytestmark = pytest.mark.slow

NEEDLES = ["holmqvist", "7946 0958", PLANTED["CREDIT_CARD"], PLANTED["US_SSN"], "gb82 west",
           PLANTED["IP_ADDRESS"], PII_SALT.lower()]
RAW_STEPS = ("ingest-op", "clean-op", "dedup-op")
RAW_CACHE = "record_cache"  # the data stages' per-record cache (scheduling): pre-PII rows, not yet marked


def _sensitive(folder: Path) -> bool:
    summary = folder / "_tunepipe.json"
    return summary.is_file() and "sensitive" in json.loads(summary.read_text())


def _text(path: Path) -> str:
    """What a reader of the file sees: Parquet values, or the bytes (SQLite stores text as it is)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return " ".join(str(v) for column in pq.read_table(path).to_pydict().values() for v in column).lower()
    return path.read_bytes().decode("utf-8", errors="replace").lower()


def _found(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def test_no_planted_pii_or_salt_outside_the_raw_tables(first_run, project):
    root = project[0]
    _, result = first_run
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert not _found((result.stdout + result.stderr).lower())

    leaks, raw = [], {}
    for path in sorted(p for p in (root / ".tunepipe").rglob("*") if p.is_file()):
        if RAW_CACHE in path.parts or any(_sensitive(f) for f in path.parents if root in f.parents):
            raw.setdefault(path.parent, []).extend(_found(_text(path)))
            continue
        leaks += [(str(path.relative_to(root)), n) for n in _found(_text(path))]
    assert not leaks
    assert raw and all(any(step in folder.parts for step in (*RAW_STEPS, RAW_CACHE)) for folder in raw), sorted(raw)
    quarantined = [folder for folder, hits in raw.items() if "quarantine" in folder.parts and hits]
    assert quarantined, "the planted malformed line should sit, raw, in the quarantine table"
