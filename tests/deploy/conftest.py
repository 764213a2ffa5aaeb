"""Deploy fixtures: project configs sharing one SQLite MLflow registry (created once: ~8 s).

The registry holds MODEL versions 1-3 with `candidate` on 2 and `champion` on 3; no artifacts behind
them, since deploying only reads the registry (the pods' init container downloads).
"""

from __future__ import annotations

import pytest

from tunepipe.config import Config

MODEL = "support-bot"
POD_MLFLOW = "http://mlflow.mlflow.svc:5000"


def make_config(tmp_path, db: str, **sections) -> Config:
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": str(tmp_path / "data")},
           "model": {"base": "llama-3.1-8b"}, "mlflow": {"tracking_uri": db},
           "serving": {"trtllm": {"mlflow_tracking_uri": POD_MLFLOW}},
           "cluster": {"image": "registry.example.com/ml/tunepipe:1.2.3",
                       "training": {"node_selector": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
                                    "cpu": "16", "memory": "128G"}}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
        if key == "serving":
            raw[key]["trtllm"] = {"mlflow_tracking_uri": POD_MLFLOW, **value.get("trtllm", {})}
    return Config.model_validate(raw)


@pytest.fixture(scope="session")
def registry_db(tmp_path_factory):
    from tunepipe import tracking

    root = tmp_path_factory.mktemp("registry")
    db = f"sqlite:///{root / 'mlflow.db'}"
    client = tracking.client(make_config(root, db))
    client.create_registered_model(MODEL)
    for _ in range(3):
        client.create_model_version(MODEL, source="file:///nowhere/model")
    client.set_registered_model_alias(MODEL, "candidate", "2")
    client.set_registered_model_alias(MODEL, "champion", "3")
    return db


@pytest.fixture
def make_cfg(tmp_path, registry_db):
    return lambda **sections: make_config(tmp_path, registry_db, **sections)


@pytest.fixture
def cfg(make_cfg):
    return make_cfg()
