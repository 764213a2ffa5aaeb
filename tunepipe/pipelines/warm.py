"""Warm step processes for local runs: a fork server that has already imported what the steps import.

Each kfp local step is a fresh `python -m kfp.dsl.executor_main` process; importing MLflow, kfp, torch,
transformers and pyspark's Connect client costs seconds per step, most of the local orchestration
overhead. `warm_steps` starts this module as one process per run, which imports them once and then
forks a child for each step: the child takes the step's stdin/stdout/stderr (passed over a Unix socket
by `warm_client.py`, which kfp runs in place of the interpreter), its argv, environment and working
directory, and runs the executor as `python -m` would. Exit codes and signals pass through, so the
runner, the live view and Ctrl-C see a step exactly as before. If the server is not up, the client
runs the step as a plain interpreter: the warm path only ever saves time.

On a cluster every step is its own pod and none of this is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Iterator

from tunepipe.config import Config

SOCKET_ENV = "TUNEPIPE_WARM_SOCKET"
_LISTENER: socket.socket | None = None
CLIENT = Path(__file__).resolve().parent / "warm_client.py"
PRELOAD = ("mlflow", "mlflow.tracking", "kfp.dsl.executor_main", "tunepipe.components.runtime",
           "tunepipe.tracking", "pyspark.sql.connect.session", "torch", "transformers", "peft")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become the step process and run `python -m MODULE ARGS` (never returns)."""
    import runpy

    code = 1
    try:
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the step's own stdin, closed with the process
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        argv = request["argv"]
        module = argv[argv.index("-m") + 1]
        sys.argv = [module, *argv[argv.index("-m") + 2:]]
        sys.path[0] = request["cwd"]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception, exit 1
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve_one(conn: socket.socket) -> None:
    with conn:
        header, fds, _, _ = socket.recv_fds(conn, 4, 3)
        header += _recv_exact(conn, 4 - len(header))
        request = json.loads(_recv_exact(conn, struct.unpack("!I", header)[0]))
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            conn.close()
            _LISTENER and _LISTENER.close()
            _child(request, fds)
        for fd in fds:
            os.close(fd)
        conn.sendall(struct.pack("!i", pid))
        _, status = os.waitpid(pid, 0)
        conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))


def serve(path: str) -> None:
    """Import the steps' heavy modules, then fork one child per client connection on the socket `path`."""
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    global _LISTENER
    server = _LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    os.rename(path + ".tmp", path)
    server.listen(16)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve_one, args=(conn,), daemon=True).start()


def wanted(cfg: Config) -> bool:
    return cfg.project.warm_steps and hasattr(socket, "send_fds") and hasattr(os, "fork")


@contextlib.contextmanager
def warm_steps(cfg: Config, log_path: Path) -> Iterator[str | None]:
    """Run the fork server for the duration of the block (its own output to `log_path`); kfp launches
    steps through its client. The socket lives in a short temp dir: Unix socket paths are short."""
    if not wanted(cfg):
        yield None
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sockdir = tempfile.mkdtemp(prefix="tunepipe-warm-")
    path = os.path.join(sockdir, "steps.sock")
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "tunepipe.pipelines.warm", path], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    real, launcher = sys.executable, f"{shlex.quote(sys.executable)} -S {shlex.quote(str(CLIENT))}"
    os.environ[SOCKET_ENV] = path
    sys.executable = launcher
    try:
        yield path
    finally:
        sys.executable = real
        os.environ.pop(SOCKET_ENV, None)
        _stop(proc)
        log.close()
        shutil.rmtree(sockdir, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    serve(sys.argv[1])
