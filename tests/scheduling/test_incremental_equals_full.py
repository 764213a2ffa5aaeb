"""Incremental data work equals a full run, row for row: old data plus ~5% new rows through ingest, clean,
dedup, PII and split with `schedule.record_cache: true` (the cache warmed on the old data) gives the same
rows as a run without the cache on the same inputs (real Spark, real Presidio, small generated data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tunepipe.config import Config
from tunepipe.data_quality.clean import clean_records
from tunepipe.data_quality.dedup import deduplicate
from tunepipe.data_quality.ingest.stage import ingest
from tunepipe.data_quality.split import split_dataset
from tunepipe.pii.stage import redact_pii

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ["records", "quarantine", "cleaned", "removed-clean", "deduped", "removed-dedup", "redacted",
           "removed-pii", "train", "validation", "test"]


def _generate(path: Path, seed: int, n: int) -> list[str]:
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", str(seed), "--n", str(n),
                    "--out", str(path)], check=True, capture_output=True)
    return path.read_text().splitlines()


def _cfg(root: Path, data: Path, record_cache: bool) -> Config:
    return Config.model_validate({"data": {"paths": [str(data)], "max_quarantine_rate": 0.5},
                                  "project": {"data_dir": str(root / ".tunepipe")},
                                  "schedule": {"record_cache": record_cache}})


def _data_stages(cfg: Config, out: Path) -> dict:
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.digest import spark_digest

    d = {name: str(out / name) for name in OUTPUTS}
    summaries = {"ingest": ingest(cfg, d["records"], d["quarantine"]),
                 "clean": clean_records(cfg, d["records"], d["cleaned"], d["removed-clean"]),
                 "dedup": deduplicate(cfg, d["cleaned"], d["deduped"], d["removed-dedup"]),
                 "pii": redact_pii(cfg, d["deduped"], d["redacted"], d["removed-pii"])}
    digest = spark_digest(get_spark(cfg, "tunepipe-test").read.parquet(d["redacted"]))
    summaries["split"] = split_dataset(cfg, d["redacted"], d["train"], d["validation"], d["test"], digest)
    return summaries


def _rows(path: Path) -> pd.DataFrame:
    files = sorted(path.rglob("*.parquet"))
    if not files:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    frame = frame.astype(str)
    return frame[sorted(frame.columns)].sort_values(sorted(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    old = _generate(root / "old.jsonl", 5, 300)
    new = _generate(root / "new.jsonl", 11, 100)[:15]
    data = root / "support.jsonl"
    data.write_text("\n".join(old) + "\n")
    os.environ.setdefault("TUNEPIPE_PII_SALT", "incremental-test-salt-0123456789abcdef")
    inc_root, full_root = root / "incremental", root / "full"
    _data_stages(_cfg(inc_root, data, True), inc_root / "warm")
    data.write_text("\n".join(old + new) + "\n")
    incremental = _data_stages(_cfg(inc_root, data, True), inc_root / "out")
    full = _data_stages(_cfg(full_root, data, False), full_root / "out")
    return inc_root / "out", full_root / "out", incremental, full


@pytest.mark.parametrize("output", OUTPUTS)
def test_each_output_equals_the_full_run_row_for_row(runs, output):
    inc_dir, full_dir, _, _ = runs
    inc, full = _rows(inc_dir / output), _rows(full_dir / output)
    assert len(full) > 0 or output in {"quarantine", "removed-pii", "removed-clean"}
    pd.testing.assert_frame_equal(inc, full)


@pytest.mark.parametrize("stage", ["clean", "pii"])
def test_the_incremental_run_computed_only_the_new_rows(runs, stage):
    """Two batches under the stage's one version: the warm run's rows, then at most the 15 new ones."""
    inc_dir = runs[0]
    versions = list((inc_dir.parent / ".tunepipe" / "record_cache" / stage).iterdir())
    assert len(versions) == 1, versions
    batches = sorted(versions[0].iterdir())
    sizes = [len(pd.concat([pd.read_parquet(f) for f in b.glob("*.parquet")])) for b in batches]
    assert len(sizes) == 2 and sizes[0] > 200 and 0 < sizes[1] <= 15, sizes


def test_the_summaries_agree(runs):
    _, _, incremental, full = runs
    for stage in ("clean", "dedup", "split"):
        assert incremental[stage] == full[stage], stage
