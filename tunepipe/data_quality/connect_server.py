"""One Spark Connect server for a local run, shared by every Spark step (`spark.share_local`).

Each step of the kfp local runner is a fresh process; in local mode each Spark step would start its
own JVM. `shared_spark` starts the Spark Connect server that the pyspark wheel ships
(`sbin/start-connect-server.sh`) on 127.0.0.1 for the length of a run, and publishes its URL in
`TUNEPIPE_SPARK_REMOTE`, which the steps inherit and `get_spark` reads: the same code path as
`spark.remote` on a cluster. The URL travels in the environment, not the config, so the cached steps'
keys do not change with the port. The server runs in its own process group and is stopped when the
run ends, fails or is interrupted.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

REMOTE_ENV = "TUNEPIPE_SPARK_REMOTE"
READY_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def wait_for_port(port: int, timeout_s: float = READY_TIMEOUT_S, alive=lambda: True) -> bool:
    """True once 127.0.0.1:`port` accepts connections; False after `timeout_s` or when `alive()` turns False."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.5)
    return False


def _cores(master: str) -> int:
    match = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if match and match.group(1) != "*":
        return int(match.group(1))
    return os.cpu_count() or 1


class ConnectServer:
    """pyspark's Spark Connect server in the foreground of its own process group, on a free loopback port."""

    def __init__(self, workdir: Path, master: str = "local[2]", driver_memory: str = "2g",
                 conf: dict[str, str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self.log = workdir / "spark-connect.log"
        settings = {"spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": str(self.port),
                    "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "8",
                    "spark.default.parallelism": str(_cores(master)),
                    "spark.sql.execution.arrow.pyspark.enabled": "true", "spark.driver.bindAddress": "127.0.0.1",
                    **(conf or {})}
        command = [str(spark_home() / "sbin" / "start-connect-server.sh"), "--wait", "--master", master,
                   "--driver-memory", driver_memory]
        for key, value in settings.items():
            command += ["--conf", f"{key}={value}"]
        env = {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
               "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(workdir / "logs"),
               "SPARK_PID_DIR": str(workdir / "pids")}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        if wait_for_port(self.port, timeout_s, alive=self.running):
            return
        state = self.status()
        self.stop()
        raise TunepipeError(f"the shared Spark Connect server did not start within {timeout_s:.0f} s ({state}); "
                            f"see {self.log}, or set spark.share_local: false to start Spark in each step")

    def status(self) -> str:
        code = self.process.poll()
        return "still running" if code is None else f"exited with {code}"

    def running(self) -> bool:
        return self._group_alive()

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to the whole process group (launcher script and JVM), SIGKILL after `timeout_s`."""
        if not self._group_alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self._group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def _group_alive(self) -> bool:
        self.process.poll()
        try:
            os.killpg(self.process.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False


def wanted(cfg: Config) -> bool:
    return cfg.spark.share_local and not cfg.spark.remote and cfg.spark.master.startswith("local")


@contextmanager
def shared_spark(cfg: Config, workdir: Path) -> Iterator[ConnectServer | None]:
    """A Spark Connect server for the block's steps (None when the config runs Spark otherwise)."""
    if not wanted(cfg) or os.environ.get(REMOTE_ENV):
        yield None
        return
    server = ConnectServer(workdir, cfg.spark.master, cfg.spark.driver_memory, cfg.spark.conf)
    atexit.register(server.stop)
    try:
        server.wait_ready()
        os.environ[REMOTE_ENV] = server.url
        yield server
    finally:
        os.environ.pop(REMOTE_ENV, None)
        server.stop()
        atexit.unregister(server.stop)
