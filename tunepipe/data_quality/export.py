"""Export the splits for other trainers: NeMo's JSONL files, readable by `datasets.load_dataset` as is.

`export_splits` writes one directory:

    training.jsonl  validation.jsonl  test.jsonl   {"input", "output", "record_id", "source", ...}
    README.md                                        a dataset card whose YAML maps the files to splits

`input` is the user turn exactly as training formats it (`training.data.user_content`: the RAG context,
then the question) and `output` is the answer, which is the form NeMo's fine-tuning recipes read
(`dataset_root` with training/validation/test.jsonl). The README's `configs` block lets
`datasets.load_dataset(DIR)` return a DatasetDict with train/validation/test (an empty split is left
out of the mapping: `datasets` refuses a split without rows). Spark writes each file
from the executors (one partition per file), so nothing is collected to the driver.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pyspark.sql import functions as F

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.common import read_dataset
from tunepipe.data_quality.spark import get_spark

NEMO_FILES = {"train": "training.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
EXTRA_COLUMNS = ("record_id", "source", "shape", "group_id")

CARD = """---
configs:
- config_name: default
  data_files:
{data_files}
---
# {name}: fine-tuning splits

Written by tunepipe from the dataset with digest `{digest}`.

| split | file | rows |
|---|---|---:|
{rows}

Each line is `{{"input": ..., "output": ...}}` (NeMo's SFT format) plus `record_id`, `source` and
`shape`. Load with `datasets.load_dataset("{path}")` or point NeMo's `dataset_root` here.
"""


def user_content_column():
    """Spark twin of `training.data.user_content`: the question, preceded by its context when any."""
    has_context = F.col("context").isNotNull() & (F.trim(F.col("context")) != "")
    with_context = F.concat(F.lit("Context:\n"), F.col("context"), F.lit("\n\nQuestion: "), F.col("prompt"))
    return F.when(has_context, with_context).otherwise(F.col("prompt"))


def export_splits(cfg: Config, train_dir: str, val_dir: str, test_dir: str, out_dir: str, digest: str = "") -> dict:
    """Write NeMo JSONL files and a `datasets`-readable card for the three split directories."""
    spark = get_spark(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, src in zip(NEMO_FILES, (train_dir, val_dir, test_dir)):
        df = read_dataset(spark, src, f"{split} split")
        extras = [c for c in EXTRA_COLUMNS if c in df.columns]
        rows = df.select(user_content_column().alias("input"), F.col("response").alias("output"), *extras)
        counts[split] = _write_single_jsonl(rows.orderBy("record_id"), out / NEMO_FILES[split])
    table = "\n".join(f"| {s} | {NEMO_FILES[s]} | {n} |" for s, n in counts.items())
    data_files = "\n".join(f"  - split: {s}\n    path: {NEMO_FILES[s]}" for s, n in counts.items() if n)
    (out / "README.md").write_text(CARD.format(name=cfg.project.name, digest=digest or "?", rows=table,
                                               path=out.resolve(), data_files=data_files))
    summary = {"files": {s: NEMO_FILES[s] for s in counts}, "rows": counts, "digest": digest}
    return artifacts.write_summary(out, summary)


def _write_single_jsonl(df, path: Path) -> int:
    """One JSON Lines file at `path`, written by Spark as a single partition, then renamed."""
    tmp = path.with_name(f"_{path.name}.parts")
    df.coalesce(1).write.mode("overwrite").option("compression", "none").json(str(tmp))
    parts = sorted(tmp.glob("part-*"))
    if parts:
        shutil.move(str(parts[0]), path)
    else:
        path.write_text("")
    shutil.rmtree(tmp, ignore_errors=True)
    with path.open("rb") as f:
        return sum(1 for _ in f)
