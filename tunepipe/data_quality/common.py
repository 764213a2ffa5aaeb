"""What the Spark data stages share: reading a stage's dataset dir with a clear error."""

from __future__ import annotations

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


REMOVED_COLUMNS = ["record_id", "source", "source_line", "stage", "reason", "detail", "prompt", "context", "response"]
"""Columns of a stage's `removed` table: every row a stage drops, with why, so nothing is lost."""
