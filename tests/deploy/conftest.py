"""Deploy fixtures: a project config on a SQLite MLflow registry holding one registered version."""

from __future__ import annotations

import pytest

from tunepipe.config import Config

MODEL = "support-bot"


def make_config(tmp_path, **sections) -> Config:
    db = f"sqlite:///{tmp_path / 'mlflow.db'}"
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": str(tmp_path / "data")},
           "model": {"base": "llama-3.1-8b"}, "mlflow": {"tracking_uri": db},
           "cluster": {"image": "registry.example.com/ml/tunepipe:1.2.3",
                       "training": {"node_selector": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
                                    "cpu": "16", "memory": "128G"}}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return Config.model_validate(raw)


def register_versions(cfg: Config, count: int = 1, alias: str = "candidate") -> None:
    """Registered versions with no artifacts behind them: deploy only reads the registry."""
    from tunepipe import tracking

    client = tracking.client(cfg)
    client.create_registered_model(MODEL)
    for _ in range(count):
        version = client.create_model_version(MODEL, source="file:///nowhere/model").version
    client.set_registered_model_alias(MODEL, alias, version)


@pytest.fixture
def cfg(tmp_path):
    cfg = make_config(tmp_path)
    register_versions(cfg, 2)
    return cfg


@pytest.fixture
def make_cfg(tmp_path):
    return lambda **sections: make_config(tmp_path, **sections)
