"""Shared test setup: offline Hugging Face, quiet Spark, a config factory on a temp data dir."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_mlflow_store():
    """No test sees the MLflow store another test set: after each test, mlflow's in-process tracking and
    registry URIs and the MLFLOW_*_URI variables that set_tracking_uri exports are put back as they were."""
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    before = {name: os.environ.get(name) for name in names}
    uris = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    yield
    tracking_utils._tracking_uri, registry_utils._registry_uri = uris
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
