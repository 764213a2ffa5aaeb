"""Fixtures for the evaluation tests: a tiny base, a different tiny candidate, a test split."""

from __future__ import annotations

import os

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ANSWERS = ["red", "green", "blue", "yellow"]


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return pd.DataFrame([
        {"record_id": f"t{i}", "prompt": f"What colour is item {i % 4}?",
         "context": "Items are coloured." if i % 3 == 0 else None, "response": ANSWERS[i % 4]}
        for i in range(10)
    ])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, test_rows):
    """(root, base_dir, model_dir, test_dir): candidate in model_dir/merged, as fine-tuning writes it."""
    from tunepipe import artifacts
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("eval")
    texts = list(test_rows["prompt"] + " " + test_rows["response"])
    base = build_tiny_model(root / "base", texts=texts, seed=0)
    build_tiny_model(root / "model" / "merged", texts=texts, seed=1)
    test_dir = root / "test"
    test_dir.mkdir()
    test_rows.to_parquet(test_dir / "part-00000.parquet")
    artifacts.write_summary(test_dir, {"rows": len(test_rows)})
    return root, base, str(root / "model"), str(test_dir)


@pytest.fixture(scope="module")
def make_cfg(workspace):
    from tunepipe.config import Config

    def _make(data_dir, **sections):
        raw = {
            "data": {"paths": ["unused.jsonl"]},
            "project": {"data_dir": str(data_dir)},
            "model": {"base": workspace[1], "max_seq_len": 64},
            "evaluation": {"max_samples": 6, "max_new_tokens": 6, "batch_size": 4},
        }
        for key, value in sections.items():
            raw.setdefault(key, {}).update(value)
        return Config.model_validate(raw)

    return _make
