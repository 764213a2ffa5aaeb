"""The MLflow run a training logs to: params, the resolved config, per-step and system metrics.

A fresh start logs to the active run (the stage run its component opened) and records that run's id
with its checkpoints. A restart that resumes a checkpoint logs to the recorded run instead, so one MLflow
run holds the whole training however often it was killed; the restart's own stage run is tagged with
the id of the run it continued. Without an active run nothing is logged (benchmarks, library use).
"""

from __future__ import annotations

import sys
import time

from tunepipe.config import Config
from tunepipe.tracking import flatten_metrics

CONTINUES_TAG = "tunepipe.continues_run_id"
RESUMED_TAG = "tunepipe.resumed_from_step"


class TrainingRun:
    """The run one training logs to (`run_id` None: nothing is logged), and the stage run now active."""

    def __init__(self, run_id: str | None = None, active_id: str | None = None):
        self.run_id, self.active_id = run_id, active_id
        self.monitor = None

    @property
    def continues(self) -> bool:
        """True when this process logs to a run an earlier process started."""
        return bool(self.run_id) and self.run_id != self.active_id

    @classmethod
    def open(cls, recorded_run_id: str | None, resumed_step: int) -> "TrainingRun":
        mlflow = sys.modules.get("mlflow")
        active = mlflow.active_run() if mlflow else None
        if active is None:
            return cls()
        active_id = active.info.run_id
        run = cls(recorded_run_id if recorded_run_id and _exists(recorded_run_id) else active_id, active_id)
        if run.continues:
            mlflow.set_tag(CONTINUES_TAG, run.run_id)
            mlflow.MlflowClient().update_run(run.run_id, status="RUNNING")
        if resumed_step:
            run.set_tags({RESUMED_TAG: str(resumed_step)})
        return run

    def client(self):
        import mlflow

        return mlflow.MlflowClient()

    def log_params(self, params: dict) -> None:
        if not self.run_id:
            return
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client().log_batch(self.run_id, params=items[start:start + 100])

    def log_dict(self, data: dict, path: str) -> None:
        if self.run_id:
            self.client().log_dict(self.run_id, data, path)

    def set_tags(self, tags: dict) -> None:
        if self.run_id:
            for key, value in tags.items():
                self.client().set_tag(self.run_id, key, value)

    def log_metrics(self, metrics: dict, step: int) -> None:
        if not self.run_id:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, step) for k, v in flatten_metrics(metrics).items()]
        if items:
            self.client().log_batch(self.run_id, metrics=items)

    def start_system_metrics(self, interval_s: float | None) -> None:
        """CPU, memory, disk, network (and GPU, with pynvml) as `system/*` metrics, every `interval_s`."""
        if not self.run_id or not interval_s:
            return
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        self.monitor = SystemMetricsMonitor(self.run_id, sampling_interval=interval_s, resume_logging=True)
        self.monitor.start()

    def finish(self, failed: bool = False) -> None:
        if self.monitor is not None:
            self.monitor.finish()
            self.monitor = None
        if self.continues:
            self.client().set_terminated(self.run_id, "FAILED" if failed else "FINISHED")


def _exists(run_id: str) -> bool:
    import mlflow

    try:
        mlflow.MlflowClient().get_run(run_id)
        return True
    except Exception:
        return False


def training_params(cfg: Config, extra: dict) -> dict:
    """Flat `section.key` params of the training and model config, plus run facts (rows, sizes)."""
    flat = _flatten({"model": cfg.model.model_dump(), "training": cfg.training.model_dump()})
    return {**flat, **extra}


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = ",".join(map(str, value)) if isinstance(value, list) else value
    return out
