"""Small helpers the Spark data stages share: reading a stage's dataset dir and logging counts."""

from __future__ import annotations

import sys
from pathlib import Path

from tunepipe.errors import TunepipeError


def read_dataset(spark, dataset_dir: str | Path, what: str = "input dataset"):
    """The Parquet rows of a stage output, with a clear error when the directory is not one."""
    path = Path(dataset_dir)
    if "://" not in str(dataset_dir) and not any(path.glob("*.parquet")):
        raise TunepipeError(
            f"{what} {dataset_dir} holds no Parquet files; run the previous stage first "
            "(or point at its output directory)"
        )
    return spark.read.parquet(str(dataset_dir))


def log_metrics(prefix: str, values: dict) -> None:
    """Log numeric values (nested dicts flattened) to the active MLflow run, if there is one.

    Without an imported mlflow there can be no active run, so mlflow is never imported here.
    """
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return
    flat: dict[str, float] = {}

    def walk(key: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{key}.{k}", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[key] = float(value)

    for k, v in values.items():
        walk(f"{prefix}.{k}", v)
    mlflow.log_metrics(flat)
