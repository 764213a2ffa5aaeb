"""NeMo JSONL export of the splits: the files NeMo reads, and `datasets.load_dataset(DIR)` reads them too."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tunepipe.data_quality.export import NEMO_FILES, export_splits
from tunepipe.training.data import user_content

ROWS = {
    "train": [("r1", "How do I reset my password?", None, "Open Settings, then Reset."),
              ("r2", "What is the SLA?", "Enterprise plans have a 99.9% SLA.", "99.9% on Enterprise."),
              ("r3", "Ünïcödé \"quotes\" and\nnewlines?", None, "Kept exactly: \u00e9\u4e2d.")],
    "validation": [("r4", "Where are invoices?", None, "Under Billing.")],
    "test": [],
}


@pytest.fixture(scope="module")
def exported(spark, tmp_path_factory):
    from tunepipe.config import Config

    tmp = tmp_path_factory.mktemp("export")
    dirs = []
    for split, rows in ROWS.items():
        d = tmp / split
        d.mkdir()
        frame = pd.DataFrame(rows, columns=["record_id", "prompt", "context", "response"]).astype(object)
        frame["source"], frame["shape"] = "s.jsonl", "prompt_completion"
        frame.to_parquet(d / "part-0.parquet")
        dirs.append(str(d))
    cfg = Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp / "p")}})
    summary = export_splits(cfg, *dirs, str(tmp / "nemo"), digest="abc123")
    return tmp / "nemo", summary


def test_nemo_files_hold_input_output_formatted_like_training(exported):
    out, summary = exported
    assert summary["rows"] == {"train": 3, "validation": 1, "test": 0}
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == sorted(
        [*NEMO_FILES.values(), "README.md"])
    lines = [json.loads(line) for line in (out / "training.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["record_id"] for r in lines] == ["r1", "r2", "r3"]
    for (rid, prompt, context, response), line in zip(ROWS["train"], lines):
        assert line["input"] == user_content(prompt, context) and line["output"] == response
    assert (out / "test.jsonl").read_text() == ""


def test_datasets_load_dataset_reads_the_directory_as_three_splits(exported):
    from datasets import load_dataset

    out, _ = exported
    ds = load_dataset(str(out))
    assert set(ds) == {"train", "validation"}
    assert ds["train"]["output"] == [r[3] for r in ROWS["train"]]
    assert ds["validation"][0]["input"] == "Where are invoices?"
