"""Split: refuses a changed dataset, deterministic content-hash assignment, ratios, digests."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from tunepipe import artifacts
from tunepipe.data_quality.split import bucket, split_dataset
from tunepipe.digest import pandas_digest, row_hash
from tunepipe.errors import TunepipeError

N = 400
SCHEMA = pa.schema([("record_id", pa.string()), ("source", pa.string()), ("source_line", pa.int64()),
                    ("shape", pa.string()), ("prompt", pa.string()), ("context", pa.string()),
                    ("response", pa.string())])


def frame(n: int = N) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": [f"id{i:04d}" for i in range(n)],
        "source": "s.jsonl", "source_line": range(1, n + 1), "shape": "prompt_completion",
        "prompt": [f"Question number {i} about invoices" for i in range(n)],
        "context": [None if i % 3 else f"Context {i}" for i in range(n)],
        "response": [f"Answer {i}. — Northwind Support" for i in range(n)],
    })


def write(df: pd.DataFrame, path, parts: int = 1):
    path.mkdir(parents=True)
    for k in range(parts):
        df.iloc[k::parts].to_parquet(path / f"part-{k}.parquet", schema=SCHEMA, index=False)
    return str(path)


def run(cfg, in_dir, out, digest):
    dirs = [str(out / s) for s in ("train", "val", "test")]
    return split_dataset(cfg, in_dir, *dirs, digest), [artifacts.read_parquet_dir(d) for d in dirs]


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """The same rows split twice: once as written, once reordered across three files."""
    from tunepipe.config import Config

    tmp = tmp_path_factory.mktemp("split")
    cfg = Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp / "p")},
                                 "split": {"train": 0.7, "validation": 0.1, "test": 0.2, "salt": "s1"}})
    df = frame()
    digest = pandas_digest(df)
    first = run(cfg, write(df, tmp / "a"), tmp / "out_a", digest)
    second = run(cfg, write(df.iloc[::-1], tmp / "b", parts=3), tmp / "out_b", digest)
    return cfg, df, digest, first, second, tmp


def test_counts_ratios_and_summaries(runs):
    cfg, df, digest, (result, frames), _, tmp = runs
    assert result == {"train": len(frames[0]), "validation": len(frames[1]), "test": len(frames[2]),
                      "digest": digest}
    assert sum(len(f) for f in frames) == N
    assert abs(len(frames[0]) / N - 0.7) < 0.08 and abs(len(frames[2]) / N - 0.2) < 0.07
    assert len(frames[1]) > 0
    assert artifacts.read_summary(tmp / "out_a" / "val") == {
        "digest": digest, "rows": len(frames[1]), "split": "validation", "salt": "s1"}


def test_union_of_splits_has_the_approved_digest(runs):
    _, _, digest, (_, frames), _, _ = runs
    assert pandas_digest(*frames) == digest


def test_assignment_is_deterministic_and_content_based(runs):
    cfg, df, _, (_, first), (_, second), _ = runs
    for a, b in zip(first, second):
        assert sorted(a["record_id"]) == sorted(b["record_id"])
    train_ids = set(first[0]["record_id"])
    for row in df.itertuples():
        u = bucket("s1", row_hash(row.prompt, row.context, row.response))
        assert (u < 0.7) == (row.record_id in train_ids)


def test_salt_changes_the_assignment(runs, tmp_path):
    cfg, df, digest, (_, first), _, tmp = runs
    cfg = cfg.model_copy(update={"split": cfg.split.model_copy(update={"salt": "other"})})
    _, frames = run(cfg, str(tmp / "a"), tmp_path / "o", digest)
    assert set(frames[0]["record_id"]) != set(first[0]["record_id"])


def test_changed_dataset_is_refused(runs, tmp_path):
    cfg, df, digest, *_ = runs
    changed = df.copy()
    changed.loc[5, "response"] = "edited after review"
    in_dir = write(changed, tmp_path / "changed")
    with pytest.raises(TunepipeError, match="the dataset changed after approval: .* approved digest is "
                                            + digest[:12]):
        run(cfg, in_dir, tmp_path / "o", digest)
    assert not (tmp_path / "o" / "train").exists()
