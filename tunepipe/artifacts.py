"""Conventions for stage outputs: a dataset is a Parquet directory with a `_tunepipe.json` summary.

Spark and pandas both ignore files that start with `_`, so the summary travels with the data
through KFP artifacts without being read as rows.
"""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY_FILE = "_tunepipe.json"


def write_summary(dataset_dir: str | Path, summary: dict) -> dict:
    path = Path(dataset_dir) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return summary


def read_summary(dataset_dir: str | Path) -> dict:
    path = Path(dataset_dir) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def read_parquet_dir(dataset_dir: str | Path):
    """A small dataset as pandas (training, evaluation and reports; never the Spark stages)."""
    import pandas as pd

    files = sorted(Path(dataset_dir).glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["record_id", "prompt", "context", "response"])
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
