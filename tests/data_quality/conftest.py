"""Fixtures for the Spark data stages: one local Spark session for the package, a config factory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from tunepipe.config import Config  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny real model + tokenizer: the clean stage counts tokens with it (no GGUF conversion)."""
    from tunepipe.training.tiny import build_tiny_model

    return Path(build_tiny_model(tmp_path_factory.mktemp("tiny-model")))


@pytest.fixture
def make_cfg(tmp_path, tiny_model_dir):
    """make_cfg(paths, **data_keys, sections={...}): a Config on a temp data dir with the tiny model."""
    def make(paths: list, sections: dict | None = None, **data) -> Config:
        raw = {"data": {"paths": [str(p) for p in paths], **data},
               "project": {"data_dir": str(tmp_path / "project")},
               "model": {"base": str(tiny_model_dir)}}
        for name, values in (sections or {}).items():
            raw.setdefault(name, {}).update(values)
        return Config.model_validate(raw)

    return make


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from tunepipe.data_quality.spark import get_spark

    cfg = Config.model_validate({"data": {"paths": ["unused"]},
                                 "project": {"data_dir": str(tmp_path_factory.mktemp("spark"))}})
    return get_spark(cfg)


def _write_jsonl(path: Path, lines: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for item in lines:
            if isinstance(item, (dict, list)):
                item = json.dumps(item, ensure_ascii=False)
            f.write(item if isinstance(item, bytes) else item.encode("utf-8"))
            f.write(b"\n")
    return path


@pytest.fixture
def write_jsonl():
    """write_jsonl(path, items): a dict/list is dumped as JSON, a str written as is, bytes raw."""
    return _write_jsonl
