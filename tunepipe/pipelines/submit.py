"""Submit a compiled run to a Kubeflow Pipelines API endpoint."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.compile import compile_pipeline


def submit_run(cfg: Config, host: str, experiment: str, run_name: str | None = None) -> dict:
    """Compile with the config's defaults and create a run; returns the run id and its UI address."""
    import kfp

    try:
        client = kfp.Client(host=host)
    except Exception as err:  # noqa: BLE001 - kfp raises many kinds on an unreachable host
        raise TunepipeError(f"cannot reach Kubeflow Pipelines at {host}: {err}. Check --host "
                            "(e.g. http://localhost:8080 after `kubectl port-forward`).") from None
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(cfg, Path(tmp) / "pipeline.yaml")
        result = client.create_run_from_pipeline_package(
            str(package), arguments={}, run_name=run_name, experiment_name=experiment,
        )
    return {"run_id": result.run_id, "url": f"{host.rstrip('/')}/#/runs/details/{result.run_id}"}
