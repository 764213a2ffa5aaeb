"""`tunepipe ui` against a real store: the MLflow UI starts on 127.0.0.1, serves the latest run's
reports, lists them, and is gone after Ctrl-C; a taken port and a missing store are clear errors."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tunepipe.config import Config

ROOT = Path(__file__).resolve().parents[1]
REPORT = "<html><head><title>Data card</title></head><body>rows 3</body></html>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _project(tmp_path) -> tuple[Path, str, str]:
    import mlflow

    from tunepipe.tracking import stage_run, start_pipeline_run

    raw = {"data": {"paths": [str(tmp_path / "d.jsonl")]}, "project": {"data_dir": str(tmp_path / ".tunepipe")}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = Config.model_validate(raw)
    start_pipeline_run(cfg, "tunepipe-old")
    parent = start_pipeline_run(cfg, "tunepipe-latest")
    report = tmp_path / "data_card.html"
    report.write_text(REPORT)
    with stage_run(cfg, "data_card", parent) as run:
        mlflow.log_artifact(str(report), "data_card")
        child = run.info.run_id
    return path, parent, child


def _ui(config: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    for leaked in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(leaked, None)
    return subprocess.Popen([sys.executable, "-m", "tunepipe.cli", "ui", "--config", str(config), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _read_until(proc: subprocess.Popen, marker: str, timeout_s: float = 120) -> str:
    out, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        out.append(line)
        if marker in line:
            return "".join(out)
    proc.kill()
    raise AssertionError("".join(out) + proc.stderr.read())


def test_ui_serves_the_latest_runs_reports_and_stops_on_ctrl_c(tmp_path):
    config, parent, child = _project(tmp_path)
    port = _free_port()
    proc = _ui(config, port)
    try:
        out = _read_until(proc, "Ctrl-C stops the UI")
        assert f"MLflow UI  http://127.0.0.1:{port}" in out
        assert "latest run tunepipe-latest" in out and "tunepipe-old" not in out
        assert f"/runs/{child}/artifacts/data_card/data_card.html" in out
        assert str(tmp_path / ".tunepipe" / "mlartifacts") in out
        url = f"http://127.0.0.1:{port}/get-artifact?path=data_card/data_card.html&run_uuid={child}"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read().decode() == REPORT
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_a_taken_port_is_a_clear_error(tmp_path):
    config, *_ = _project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _ui(config, port)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    message = " ".join(err.split())
    assert f"port {port} on 127.0.0.1 is already in use by another process" in message
    assert "pass --port with a free port" in message and "Traceback" not in message


def test_no_store_yet_says_run_first(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"data": {"paths": ["x.jsonl"]}, "project": {"data_dir": str(tmp_path / "none")}}))
    proc = _ui(config, _free_port())
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "run `tunepipe run CONFIG` first" in " ".join(err.split())
