"""What every component does around its stage: parse config, open the MLflow stage run, run, report.

A `TunepipeError` raised by a stage is also written to `$TUNEPIPE_ERROR_FILE` when it is set, so the
CLI that launched the local pipeline can print the short message instead of a subprocess trace.
"""

from __future__ import annotations

import json
import os
from typing import Callable

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

ERROR_FILE_ENV = "TUNEPIPE_ERROR_FILE"


def _record_error(stage: str, err: Exception) -> None:
    path = os.environ.get(ERROR_FILE_ENV)
    if path:
        with open(path, "w") as fh:
            json.dump({"stage": stage, "message": str(err)}, fh)


def _interrupt_on_sigterm() -> None:
    """A step stopped with SIGTERM (Ctrl-C on `tunepipe run`, a deleted pod) unwinds like Ctrl-C, so its
    MLflow stage run is ended rather than left running."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def run_stage(
    config_json: str,
    stage: str,
    body: Callable[[Config], dict],
    parent_run_id: str | None = None,
) -> str:
    """Run `body(cfg)` inside an MLflow child run named after the stage; return its summary as JSON."""
    import mlflow

    from tunepipe.tracking import stage_run

    _interrupt_on_sigterm()
    try:
        cfg = Config.from_json(config_json)
        with stage_run(cfg, stage, parent_run_id) as run:
            summary = {**body(cfg), "mlflow_run_id": run.info.run_id}
            mlflow.log_dict(summary, "summary.json")
        return json.dumps(summary, default=str)
    except TunepipeError as err:
        _record_error(stage, err)
        raise
