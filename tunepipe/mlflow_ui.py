"""`tunepipe ui`: the MLflow UI on the project's own store, on 127.0.0.1, and where the latest run's
HTML reports are (data card, dataset review, evaluation), as UI links and as files.

A project on an MLflow server already has its UI: then nothing is started and the links point there.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.ports import check_port_free
from tunepipe.tracking import PIPELINE_RUN_TAG, client, ensure_experiment, tracking_uri

READY_TIMEOUT_S = 90


@dataclass
class Report:
    stage: str
    artifact: str
    link: str
    file: str | None


def latest_reports(cfg: Config, ui_url: str) -> tuple[str | None, list[Report]]:
    """The newest pipeline run's name and the HTML reports its stage runs logged."""
    mlflow = client(cfg)
    experiment = ensure_experiment(cfg)
    parents = mlflow.search_runs([experiment], "tags.`tunepipe.stage` = 'pipeline'", max_results=1,
                                 order_by=["attributes.start_time DESC"])
    if not parents:
        return None, []
    parent = parents[0]
    children = mlflow.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
                                  order_by=["attributes.start_time ASC"])
    reports = [_report(run, path, ui_url) for run in children for path in _html_artifacts(mlflow, run.info.run_id)]
    return parent.data.tags.get(PIPELINE_RUN_TAG, parent.info.run_name), reports


def _html_artifacts(mlflow, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for item in mlflow.list_artifacts(run_id, path):
        if item.is_dir:
            out += _html_artifacts(mlflow, run_id, item.path)
        elif item.path.endswith(".html"):
            out.append(item.path)
    return out


def _report(run, path: str, ui_url: str) -> Report:
    info = run.info
    link = f"{ui_url}/#/experiments/{info.experiment_id}/runs/{info.run_id}/artifacts/{path}"
    root = info.artifact_uri.removeprefix("file://")
    local = Path(root) / path if "://" not in root else None
    return Report(run.data.tags.get("tunepipe.stage", info.run_name), path, link,
                  str(local) if local and local.is_file() else None)


def ui_command(cfg: Config, port: int) -> list[str]:
    uri = tracking_uri(cfg)
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1"]


def start_ui(cfg: Config, port: int) -> subprocess.Popen:
    """The MLflow UI process, once it answers /health; a clear error if it exits or never answers."""
    if not Path(cfg.project.data_dir).is_dir():
        raise TunepipeError(f"no project store at {cfg.project.data_dir}: run `tunepipe run CONFIG` first, "
                            "or pass --config with the project's config")
    check_port_free("127.0.0.1", port)
    proc = subprocess.Popen(ui_command(cfg, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TunepipeError(f"the MLflow UI exited with {proc.returncode}: {_last_line(proc.stderr.read())}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    stop_ui(proc)
    raise TunepipeError(f"the MLflow UI did not answer on 127.0.0.1:{port} within {READY_TIMEOUT_S} s")


def stop_ui(proc: subprocess.Popen) -> None:
    import os
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
