"""Ctrl-C in the middle of `tunepipe run`: every step process and the shared Spark server stop, the MLflow
run is marked killed, the message says what was stopped, and the next run of the same command works."""

import signal
import subprocess
import time

import psutil
import pytest

from tests.e2e.conftest import TUNEPIPE, cli_env, client, steps, tunepipe, write_config
from tests.processes import processes_in

pytestmark = pytest.mark.slow


def _wait_for_step(logs, started: float, step: str, timeout_s: float = 300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = [p for p in logs.glob("tunepipe-*") if p.stat().st_mtime >= started]
        if runs and (runs[0] / f"{step}.log").is_file():
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"the run never reached step {step}")


def _steps_of(root) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if "ephemeral_component" in " ".join(p.info["cmdline"] or []) and str(root) in " ".join(p.info["cmdline"])]


def test_ctrl_c_stops_every_step_and_the_spark_server_and_the_next_run_works(first_run, project):
    root, data, model_dir = project
    config = write_config(root, data, model_dir, name="config-interrupt.yaml", pii__actions={"EMAIL_ADDRESS": "hash"})
    started = time.time() - 1
    proc = subprocess.Popen([*TUNEPIPE, "run", str(config), "--no-cache"], cwd=root, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_logs = _wait_for_step(root / ".tunepipe" / "logs", started, "clean")
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, out + err
    assert err.startswith("error: interrupted during step '")
    assert "step process(es) and the local Spark server" in err and str(run_logs) in err
    assert "Traceback" not in out + err
    assert steps(out)[err.split("'")[1]] == "stopped"
    assert processes_in((root / ".tunepipe" / "logs" / "spark-connect").resolve()) == []
    assert _steps_of(root) == []
    mlflow = client(root)
    experiment = mlflow.get_experiment_by_name("tunepipe-demo").experiment_id
    parent = mlflow.search_runs([experiment], "tags.`tunepipe.stage` = 'pipeline'",
                                order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert parent.info.status == "KILLED"
    running = mlflow.search_runs([experiment], "attributes.status = 'RUNNING'")
    assert running == [], "no stage run is left running"

    again = tunepipe("run", str(config), cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "no change: tunepipe-demo-support version 1" in again.stdout, "the first run's config: nothing to retrain"
    assert steps(again.stdout)["change"] == "done"
