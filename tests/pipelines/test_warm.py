"""Warm step processes: a step launched through the client runs forked from the server with its own
stdio, argv, environment, working directory and exit code; Ctrl-C reaches it; without a server the
client is a plain interpreter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunepipe.config import Config
from tunepipe.pipelines.warm import SOCKET_ENV, warm_steps

STEP = """
import os, sys, time
print("argv", sys.argv[1:], "cwd", os.getcwd(), "env", os.environ.get("STEP_VAR"), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if sys.argv[1:] == ["sleep"]:
    print("sleeping", flush=True)
    time.sleep(60)
sys.exit(int(os.environ.get("STEP_EXIT", "0")))
"""


def ready(path: str, timeout_s: float) -> bool:
    """The server has imported what it preloads and listens (it renames its socket into place)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def _cfg(tmp_path: Path, warm: bool = True) -> Config:
    return Config.model_validate({"data": {"paths": ["x"]}, "project": {"data_dir": str(tmp_path), "warm_steps": warm}})


def _launch(launcher: str, cwd: Path, *args: str, **env: str) -> subprocess.Popen:
    """As kfp's local runner does: a shell line with the interpreter in it, `-m MODULE ARGS`."""
    return subprocess.Popen(["sh", "-c", f"{launcher} -m warm_step {' '.join(args)}"], cwd=cwd,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm")
    (root / "warm_step.py").write_text(STEP)
    with warm_steps(_cfg(root), root / "logs" / "warm-steps.log") as path:
        assert ready(path, 120), (root / "logs" / "warm-steps.log").read_text()
        yield root, sys.executable, path
    assert not os.path.exists(path) and SOCKET_ENV not in os.environ


def test_a_step_runs_forked_with_its_own_stdio_argv_env_cwd_and_exit_code(server):
    root, launcher, _ = server
    assert "warm_client.py" in launcher, "kfp's runner starts the client in place of the interpreter"
    proc = _launch(launcher, root, "a", "b", STEP_VAR="seen", STEP_EXIT="3")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert out == f"argv ['a', 'b'] cwd {root} env seen\n" and err == "to stderr\n"


def test_ctrl_c_reaches_the_forked_step(server):
    root, launcher, _ = server
    proc = _launch(launcher, root, "sleep")
    assert proc.stdout.readline().startswith("argv") and proc.stdout.readline() == "sleeping\n"
    client = next(c for c in __import__("psutil").Process(proc.pid).children() if "warm_client" in " ".join(c.cmdline()))
    os.kill(client.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "KeyboardInterrupt" in err


def test_without_a_server_the_client_is_a_plain_interpreter(tmp_path):
    (tmp_path / "warm_step.py").write_text(STEP)
    launcher = f"{sys.executable} -S {Path(__file__).resolve().parents[2] / 'tunepipe/pipelines/warm_client.py'}"
    start = time.perf_counter()
    proc = _launch(launcher, tmp_path, "x", **{SOCKET_ENV: str(tmp_path / "absent.sock"), "STEP_VAR": "plain"})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out == f"argv ['x'] cwd {tmp_path} env plain\n"
    assert time.perf_counter() - start < 30


def test_switched_off_nothing_is_started_and_the_interpreter_is_unchanged(tmp_path):
    before = (sys.executable, os.environ.get(SOCKET_ENV))
    with warm_steps(_cfg(tmp_path, warm=False), tmp_path / "warm.log") as path:
        assert path is None and (sys.executable, os.environ.get(SOCKET_ENV)) == before
    assert not (tmp_path / "warm.log").exists()
