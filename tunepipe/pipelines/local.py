"""Run the pipeline on this machine with the kfp local runner, then read the run's results from MLflow.

The same `@dsl.pipeline` that compiles for Kubeflow runs here through `SubprocessRunner(use_venv=False)`:
each step is a subprocess of this interpreter, and the Spark steps share one Spark Connect server
started for the run (`data_quality.connect_server`). Data steps are cached between runs (keyed on the
config and a fingerprint of the input files), so a rerun on unchanged data skips them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tunepipe.components.runtime import ERROR_FILE_ENV
from tunepipe.config import Config
from tunepipe.data_quality.connect_server import shared_spark, wanted
from tunepipe.errors import Interrupted, TunepipeError
from tunepipe.pipelines.compile import pipeline_arguments
from tunepipe.pipelines.live import ANSI, LiveView
from tunepipe.pipelines.warm import warm_steps
from tunepipe.scheduling import notify
from tunepipe.tracking import setup_mlflow, start_pipeline_run


@dataclass
class LocalRun:
    parent_run_id: str
    seconds: float
    stages: dict = field(default_factory=dict)
    pipeline_root: str = ""
    tracking_uri: str = ""
    log_dir: str = ""


def data_fingerprint(paths: list[str]) -> str:
    """Content fingerprint of the local inputs: any change to a file's bytes misses the cache; a touch,
    a copy or a clock change does not. Remote URIs count by name only (their stores version them)."""
    h = hashlib.sha256()
    for raw in sorted(paths):
        p = Path(raw)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(f"{f}\n".encode())
            if f.is_file():
                with f.open("rb") as stream:
                    for chunk in iter(lambda: stream.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()[:16]


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def preflight(cfg: Config) -> None:
    """Fail before any step starts on what can be checked up front."""
    for p in cfg.data.paths:
        if "://" not in p and not Path(p).exists():
            raise TunepipeError(f"data file {p} does not exist (check data.paths in the config)")
    writable(Path(cfg.project.data_dir))
    setup_mlflow(cfg)


def writable(data_dir: Path) -> None:
    """The data dir holds the MLflow store, the pipeline root, the caches and the logs: it must be writable."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as err:
        raise TunepipeError(f"the data dir {data_dir} is not writable ({err.strerror}): set project.data_dir to a "
                            "writable path, e.g. --set project.data_dir=$HOME/tunepipe-data") from None


def _quiet_loggers() -> None:
    """The runner's INFO lines (task start/end, cache hits) reach the live view; library chatter does not."""
    import mlflow  # noqa: F401 - it sets its loggers' levels when imported

    logging.getLogger().setLevel(logging.INFO)
    for name in ("py4j", "urllib3", "alembic", "mlflow", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*non-Python base image.*")
    warnings.filterwarnings("ignore", message=".*have no effect in the current local runner.*")


def _recorded_error(error_file: Path) -> dict | None:
    """The stage's own one-line error, when the failed step recorded one."""
    if error_file.is_file() and error_file.stat().st_size:
        return json.loads(error_file.read_text())
    return None


def _stage_error(info: dict | None, err: Exception, view: LiveView) -> TunepipeError:
    failed = view.failure_tail()
    where = f" (full log: {failed[0].log})" if failed else ""
    if info:
        return TunepipeError(f"stage '{info['stage']}' failed: {info['message']}{where}")
    return TunepipeError(f"the local pipeline failed: {ANSI.sub('', str(err))}{where}")


def child_pids() -> set[int]:
    """Every process this one has started and that still runs (a caller's own Spark JVM, for one)."""
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


def stop_step_processes(keep: set[int] = frozenset(), grace_s: float = 10.0) -> list[int]:
    """Stop the step processes this run started (and what they started), except the pids in `keep` (what ran
    before the run); servers in their own session, such as the shared Spark server, are left to their own
    context manager. Returns the pids that were stopped."""
    import psutil

    own_group = os.getpgid(0)
    procs = [p for p in psutil.Process().children(recursive=True)
             if p.pid not in keep and _in_group(p, own_group)]
    for p in procs:
        _signal(p, "terminate")
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        _signal(p, "kill")
    return [p.pid for p in procs]


def _in_group(proc, group: int) -> bool:
    try:
        return os.getpgid(proc.pid) == group
    except OSError:
        return False


def _signal(proc, how: str) -> None:
    import psutil

    try:
        getattr(proc, how)()
    except psutil.NoSuchProcess:
        pass


def run_local(cfg: Config, cache: bool = True, pipeline_job: str | None = None, verbose: bool = False,
              view: LiveView | None = None) -> LocalRun:
    """Run the pipeline with the kfp local runner under the live view (or `view`); raise a one-line error
    naming the failed step's log on failure, and `Interrupted` after stopping every step on Ctrl-C."""
    from kfp import local

    from tunepipe.pipelines.pipeline import build_pipeline

    _quiet_loggers()
    preflight(cfg)
    data_dir = Path(cfg.project.data_dir)
    root = data_dir / "pipeline_root"
    job = pipeline_job or time.strftime("tunepipe-%Y%m%d-%H%M%S")
    parent = start_pipeline_run(cfg, job, params={"cache": cache})
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root),
               enable_caching=cache, cache_root=str(data_dir / "kfp_cache"))
    view = view or LiveView(data_dir / "logs" / job, cache_root=data_dir / "kfp_cache", verbose=verbose)
    before = child_pids()
    args = {**pipeline_arguments(cfg), "data_fingerprint": data_fingerprint(cfg.data.paths),
            "mlflow_parent_run_id": parent, "git_commit": git_commit()}
    with tempfile.TemporaryDirectory() as tmp, shared_spark(cfg, data_dir / "logs" / "spark-connect"), \
            warm_steps(cfg, view.log_dir / "warm-steps.log"):
        error_file = Path(tmp) / "error.json"
        os.environ[ERROR_FILE_ENV] = str(error_file)
        start = time.perf_counter()
        try:
            with view:
                build_pipeline(cfg)(**args)
        except KeyboardInterrupt:
            raise _interrupted(cfg, parent, view, before) from None
        except Exception as err:  # noqa: BLE001 - the kfp runner raises RuntimeError/ValueError
            _end_run(parent, "FAILED")
            info = _recorded_error(error_file)
            view.print_failure(tail=info is None)
            error = _stage_error(info, err, view)
            notify.run_failed(cfg, str(error), parent)
            raise error from None
        finally:
            os.environ.pop(ERROR_FILE_ENV, None)
    _end_run(parent, "FINISHED")
    return LocalRun(parent, time.perf_counter() - start, stage_summaries(parent), str(root),
                    setup_mlflow(cfg), str(view.log_dir))


def _interrupted(cfg: Config, parent: str, view: LiveView, keep: set[int]) -> Interrupted:
    stopped = stop_step_processes(keep)
    running = [s.label for s in view.stop_running()]
    _end_run(parent, "KILLED")
    during = f" during step '{running[-1]}'" if running else ""
    spark = " and the local Spark server" if wanted(cfg) else ""
    return Interrupted(f"interrupted{during}: stopped {len(stopped)} step process(es){spark}; "
                       f"logs in {view.log_dir}. Rerun the same command: unchanged steps come from the cache")


def _end_run(run_id: str, status: str) -> None:
    """End the pipeline's MLflow run; a failed or killed run also ends its stage runs left running."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if status != "FINISHED":
        run = client.get_run(run_id)
        for child in client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}' "
                                        "and attributes.status = 'RUNNING'"):
            client.set_terminated(child.info.run_id, status)
    client.set_terminated(run_id, status)


def stage_summaries(parent_run_id: str) -> dict[str, dict]:
    """Each child stage run's summary.json, keyed by stage name."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    parent = mlflow.get_run(parent_run_id)
    runs = mlflow.search_runs(experiment_ids=[parent.info.experiment_id], output_format="list",
                              filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")
    out = {}
    for run in runs:
        stage = run.data.tags.get("tunepipe.stage", run.info.run_name)
        try:
            out[stage] = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/summary.json")
        except Exception:  # noqa: BLE001 - a stage that failed before writing its summary
            out[stage] = {}
    return out
