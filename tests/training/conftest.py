"""Fixtures for the training tests: a tiny base model, a learnable dataset split three ways, a config."""

from __future__ import annotations

import os

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

COLOURS = ["red", "green", "blue", "yellow"]


def learnable_rows(n: int = 40, start: int = 0) -> pd.DataFrame:
    """Each answer is a function of the item number in the question (a tiny model learns it in a few dozen
    steps); the order number makes every row distinct, so rows from another `start` were never trained on."""
    return pd.DataFrame([
        {
            "record_id": f"r{i}",
            "prompt": f"What colour is item {i % 4}?",
            "context": f"Order {i}." if i % 2 == 0 else None,
            "response": COLOURS[i % 4],
        }
        for i in range(start, start + n)
    ])


def held_out_rows(n: int = 12) -> pd.DataFrame:
    """Validation rows the model never trains on: the same rule, other orders (and no context for odd ones
    means their prompts repeat training prompts: those count as seen, so only even rows are kept)."""
    frame = learnable_rows(2 * n, start=1000)
    return frame[frame["context"].notna()].reset_index(drop=True)


def write_split(path, frame: pd.DataFrame, digest: str) -> str:
    from tunepipe import artifacts

    path.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path / "part-00000.parquet")
    artifacts.write_summary(path, {"digest": digest, "rows": len(frame)})
    return str(path)


def make_config(data_dir, base: str, **sections):
    from tunepipe.config import Config

    raw = {
        "data": {"paths": ["unused.jsonl"]},
        "project": {"data_dir": str(data_dir)},
        "model": {"base": base, "max_seq_len": 64},
        "training": {"max_steps": 30, "learning_rate": 3e-2, "batch_size": 4, "seed": 0},
        "approval": {"mode": "stop"},
    }
    for key, value in sections.items():
        raw.setdefault(key, {}).update(value)
    return Config.model_validate(raw)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> str:
    from tunepipe.training.tiny import build_tiny_model

    frame = pd.concat([learnable_rows(), held_out_rows()])
    texts = list(frame["prompt"] + " " + frame["context"].fillna("") + " " + frame["response"])
    return build_tiny_model(tmp_path_factory.mktemp("base"), texts=texts)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """(train_dir, val_dir, digest): the digest is that of the union, as the split stage writes it."""
    from tunepipe.digest import pandas_digest

    root = tmp_path_factory.mktemp("splits")
    train, val = learnable_rows(), held_out_rows()
    digest = pandas_digest(train, val)
    return write_split(root / "train", train, digest), write_split(root / "val", val, digest), digest



@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One project data dir (one MLflow store) per test module: creating a store takes seconds."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def make_cfg(tiny_base):
    """Factory: make_cfg(data_dir, section={...}) -> a Config with the tiny base model."""
    return lambda data_dir, **sections: make_config(data_dir, tiny_base, **sections)


def approve(cfg, digest: str) -> dict:
    from tunepipe.governance.approval import approve as rai_approve

    return rai_approve(cfg, digest, "test-reviewer", "approved in a test")


@pytest.fixture(scope="module")
def approver():
    """approver(cfg, digest): approve a digest the way a reviewer does (rai approval in MLflow)."""
    return approve


@pytest.fixture(scope="module")
def split_writer():
    return write_split


def finetune_in_stage_run(cfg, splits, out_dir) -> tuple[dict, str]:
    """Approve the split's digest and fine-tune inside an MLflow stage run, as the component does."""
    from tunepipe.tracking import stage_run
    from tunepipe.training.peft_backend import finetune

    train_dir, val_dir, digest = splits
    approve(cfg, digest)
    with stage_run(cfg, "finetune") as run:
        result = finetune(cfg, train_dir, val_dir, str(out_dir), digest)
    return result, run.info.run_id


@pytest.fixture(scope="module")
def run_finetune():
    """run_finetune(cfg, splits, out_dir) -> (summary, stage run id)."""
    return finetune_in_stage_run


@pytest.fixture
def no_weights(monkeypatch):
    """Fail the test if fine-tuning gets as far as loading model weights."""
    from tunepipe.training import methods

    def refuse(*args, **kwargs):
        raise AssertionError("model weights were loaded before the bad input was caught")

    monkeypatch.setattr(methods, "load_base", refuse)
