"""Fixtures for the RAI stages: Spark (whose Python workers must import tunepipe), configs, datasets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if str(REPO) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)

from tunepipe.config import Config  # noqa: E402


def make_config(data_dir: Path, **sections) -> Config:
    return Config.model_validate({"data": {"paths": ["x"]}, "project": {"data_dir": str(data_dir)}, **sections})


@pytest.fixture
def cfg(tmp_path) -> Config:
    return make_config(tmp_path / "project")


@pytest.fixture(scope="module")
def mlflow_cfg(tmp_path_factory) -> Config:
    """One SQLite MLflow store per test module (creating one costs seconds); tests use distinct digests."""
    return make_config(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from tunepipe.data_quality.spark import get_spark

    return get_spark(make_config(tmp_path_factory.mktemp("spark")))


def record(i: int, prompt: str, response: str, context: str | None = None, shape: str = "prompt_completion") -> dict:
    """One row of the internal record schema (docs/architecture.md)."""
    return {
        "record_id": f"{i:016x}", "source": "/data/support.jsonl", "source_line": i + 1,
        "shape": "rag" if context is not None else shape,
        "prompt": prompt, "context": context, "response": response,
    }


def write_records(directory: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("record_id", pa.string()), ("source", pa.string()), ("source_line", pa.int64()),
        ("shape", pa.string()), ("prompt", pa.string()), ("context", pa.string()), ("response", pa.string()),
    ])
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), directory / "part-00000.parquet")
    return directory


@pytest.fixture(name="record", scope="session")
def record_fixture():
    return record


@pytest.fixture(name="write_records", scope="session")
def write_records_fixture():
    return write_records
