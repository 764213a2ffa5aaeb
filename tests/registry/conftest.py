"""Fixtures for the registry tests: a tiny merged model laid out as fine-tuning writes it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

METRICS = {
    "n_loss": 10, "n_generated": 6,
    "base": {"loss": 6.1, "rouge_l": 0.05}, "candidate": {"loss": 2.3, "rouge_l": 0.41},
    "examples": [{"prompt": "p", "reference": "r", "base": "b", "candidate": "c"}],
}
LINEAGE = {
    "dataset_digest": "d" * 64, "approval_reviewer": "alice", "approval_time": "2026-11-22T10:00:00Z",
    "pipeline_run_id": "pipeline-123", "git_commit": "abc1234", "config_digest": "0123456789abcdef",
    "training_run_id": "run-train-1",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("finetuned")
    build_tiny_model(root / "merged", seed=3)
    return str(root)


@pytest.fixture(scope="module")
def make_cfg(tmp_path_factory):
    """make_cfg(data_dir=None, **registry): a config on the module's data dir unless one is given."""
    from tunepipe.config import Config

    shared = tmp_path_factory.mktemp("data")

    def _make(data_dir=None, **registry):
        return Config.model_validate({
            "data": {"paths": ["unused.jsonl"]},
            "project": {"data_dir": str(data_dir or shared)},
            "registry": {"model_name": "tiny-support", **registry},
        })

    return _make
