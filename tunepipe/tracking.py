"""MLflow wiring: the embedded SQLite store under the project data dir, or a configured server.

Every stage calls `setup_mlflow(cfg)` first; it fails fast with a clear message when a configured
tracking server cannot be reached, instead of MLflow's minutes of retries.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

REVIEW_EXPERIMENT = "tunepipe-dataset-reviews"


def tracking_uri(cfg: Config) -> str:
    if cfg.mlflow.tracking_uri:
        return cfg.mlflow.tracking_uri
    return f"sqlite:///{Path(cfg.project.data_dir).resolve() / 'mlflow.db'}"


def artifact_root(cfg: Config) -> Path:
    return Path(cfg.project.data_dir).resolve() / "mlartifacts"


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    if not uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=timeout_s).raise_for_status()
    except requests.RequestException as err:
        raise TunepipeError(
            f"MLflow tracking server {uri} is unreachable ({type(err).__name__}). Start it, fix "
            "mlflow.tracking_uri in the config, or remove the key to use the embedded SQLite store."
        ) from None


def setup_mlflow(cfg: Config) -> str:
    """Point MLflow at the project's store and return the tracking URI."""
    import mlflow

    uri = tracking_uri(cfg)
    check_reachable(uri)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    if uri.startswith("sqlite:"):
        Path(cfg.project.data_dir).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def client(cfg: Config):
    """A client bound to the project's store explicitly (never to whatever store was set last in-process)."""
    from mlflow import MlflowClient

    uri = setup_mlflow(cfg)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(cfg: Config, name: str | None = None) -> str:
    """Experiment id for `name` (default: the project's), created with a local artifact root if new."""
    import mlflow

    name = name or cfg.mlflow.experiment
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if not cfg.mlflow.tracking_uri:
        location = (artifact_root(cfg) / name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


PIPELINE_RUN_TAG = "tunepipe.pipeline_run_id"


def start_pipeline_run(cfg: Config, pipeline_run_id: str, params: dict | None = None) -> str:
    """Create the parent MLflow run of one pipeline run and return its MLflow run id."""
    import mlflow

    setup_mlflow(cfg)
    exp_id = ensure_experiment(cfg)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"pipeline-{pipeline_run_id}") as run:
        mlflow.set_tags({PIPELINE_RUN_TAG: pipeline_run_id, "tunepipe.stage": "pipeline"})
        if params:
            mlflow.log_params(params)
        return run.info.run_id


class stage_run:
    """Context manager: an MLflow child run for one stage, nested under the pipeline's run."""

    def __init__(self, cfg: Config, stage: str, parent_run_id: str | None = None):
        self.cfg, self.stage, self.parent_run_id = cfg, stage, parent_run_id or None

    def __enter__(self):
        import mlflow

        setup_mlflow(self.cfg)
        tags = {"tunepipe.stage": self.stage}
        if self.parent_run_id:
            parent = mlflow.get_run(self.parent_run_id)
            tags[PIPELINE_RUN_TAG] = parent.data.tags.get(PIPELINE_RUN_TAG, "")
            exp_id = parent.info.experiment_id
        else:
            exp_id = ensure_experiment(self.cfg)
        self.run = mlflow.start_run(
            experiment_id=exp_id, run_name=self.stage, parent_run_id=self.parent_run_id, tags=tags
        )
        return self.run

    def __exit__(self, exc_type, exc, tb):
        import mlflow

        mlflow.end_run("FAILED" if exc_type else "FINISHED")
        return False


def flatten_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict as `a.b` keys (lists, strings and None are skipped)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def log_metrics(values: dict, prefix: str = "", step: int | None = None) -> None:
    """Log the numeric leaves of `values` to the active MLflow run, if there is one.

    Without an imported mlflow there can be no active run, so mlflow is never imported here.
    """
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return
    mlflow.log_metrics(flatten_metrics(values, prefix), step=step)
