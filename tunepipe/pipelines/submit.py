"""Submit a compiled run to a Kubeflow Pipelines API endpoint."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.compile import compile_pipeline


def check_endpoint(host: str, timeout_s: float = 10.0) -> None:
    """Fail in seconds, not kfp.Client's 25 s of retries, when the endpoint is not a KFP API."""
    import requests

    url = f"{host.rstrip('/')}/apis/v2beta1/healthz"
    try:
        requests.get(url, timeout=timeout_s).raise_for_status()
    except requests.RequestException as err:
        raise TunepipeError(
            f"cannot reach Kubeflow Pipelines at {host} ({type(err).__name__} on {url}). Check --host, "
            "e.g. http://localhost:8080 after `kubectl -n kubeflow port-forward svc/ml-pipeline-ui 8080:80`."
        ) from None


def submit_run(cfg: Config, host: str, experiment: str, run_name: str | None = None) -> dict:
    """Compile with the config's defaults and create a run; returns the run id and its UI address."""
    import kfp

    check_endpoint(host)
    client = kfp.Client(host=host)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(cfg, Path(tmp) / "pipeline.yaml")
        result = client.create_run_from_pipeline_package(
            str(package), arguments={}, run_name=run_name, experiment_name=experiment,
        )
    return {"run_id": result.run_id, "url": f"{host.rstrip('/')}/#/runs/details/{result.run_id}"}
