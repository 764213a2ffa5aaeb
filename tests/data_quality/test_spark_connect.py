"""The data stages over Spark Connect give the same results as in local mode.

A real Spark Connect server (the one the pyspark wheel ships, `sbin/start-connect-server.sh`) is
started on loopback for this module. The stages run against it in a subprocess, because one Python
process cannot hold a classic session and a Connect session at once: with the package's local
session alive, `builder.remote(...)` raises SESSION_ALREADY_EXIST, and after a Connect session
a classic builder raises CONNECT_URL_NOT_SET. The subprocess runs this file as a script.

Compared with a local-mode run on the same input: every stage summary, and every output and
removed table row for row (record ids, texts, token counts, groups, split assignment).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunepipe import artifacts
from tunepipe.config import Config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
READY_TIMEOUT_S = 240
STAGE_TIMEOUT_S = 600
SPLIT_DIRS = ("train", "validation", "test")
TABLES = ("records", "quarantine", "clean", "clean_removed", "dedup", "dedup_removed", *SPLIT_DIRS)


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_data", EXAMPLES / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def optional_stage(module: str, name: str):
    try:
        return getattr(importlib.import_module(f"tunepipe.data_quality.{module}"), name)
    except (ImportError, AttributeError):
        return None


def run_stages(cfg: Config, root: Path) -> dict:
    """ingest -> clean_records -> deduplicate -> split_dataset into `root`; the summaries by stage.

    clean and dedup run when this checkout has them; split gets the digest of its input.
    """
    from tunepipe.data_quality.common import read_dataset
    from tunepipe.data_quality.ingest import ingest
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.data_quality.split import split_dataset
    from tunepipe.digest import spark_digest

    summaries = {"ingest": ingest(cfg, str(root / "records"), str(root / "quarantine"))}
    current = root / "records"
    for stage, module, name in (("clean", "clean", "clean_records"), ("dedup", "dedup", "deduplicate")):
        call = optional_stage(module, name)
        if call is not None:
            summaries[stage] = call(cfg, str(current), str(root / stage), str(root / f"{stage}_removed"))
            current = root / stage
    digest = spark_digest(read_dataset(get_spark(cfg), current))
    summaries["split"] = split_dataset(cfg, str(current), *(str(root / s) for s in SPLIT_DIRS), digest)
    return summaries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class ConnectServer:
    """pyspark's Spark Connect server in the foreground, in its own process group."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log = workdir / "connect-server.log"
        env = {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
               "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(workdir / "logs"),
               "SPARK_PID_DIR": str(workdir / "pids")}
        command = [str(spark_home() / "sbin" / "start-connect-server.sh"), "--wait", "--master", "local[2]",
                   "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
                   "--conf", f"spark.connect.grpc.binding.port={self.port}",
                   "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=8"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"sc://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Spark Connect server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self.url
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"the Spark Connect server did not listen on {self.port} within {timeout_s}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    server = ConnectServer(tmp_path_factory.mktemp("spark-connect"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def input_file(tmp_path_factory) -> Path:
    lines, _ = load_generator().generate(11, 400)
    path = tmp_path_factory.mktemp("connect-input") / "support.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config(input_file, tiny_model_dir, tmp_path_factory) -> Config:
    return Config.model_validate({
        "data": {"paths": [str(input_file)], "max_quarantine_rate": 0.1},
        "project": {"data_dir": str(tmp_path_factory.mktemp("connect-project"))},
        "model": {"base": str(tiny_model_dir)},
    })


@pytest.fixture(scope="module")
def local_run(connect_server, spark, config, tmp_path_factory):
    """The local-mode run, in this process, while the Connect server starts."""
    root = tmp_path_factory.mktemp("local-run")
    return root, run_stages(config, root)


@pytest.fixture(scope="module")
def connect_run(local_run, connect_server, config, tmp_path_factory):
    root = tmp_path_factory.mktemp("connect-run")
    remote = config.model_copy(update={"spark": config.spark.model_copy(update={"remote": connect_server.wait_ready()})})
    result = subprocess.run([sys.executable, __file__, remote.to_json(), str(root)], cwd=ROOT,
                            capture_output=True, text=True, timeout=STAGE_TIMEOUT_S)
    if result.returncode != 0:
        pytest.fail(f"the stages failed over Spark Connect:\n{result.stderr[-4000:]}\n"
                    f"server log:\n{connect_server.log_tail()}")
    return root, json.loads((root / "summaries.json").read_text())


def table(root: Path, name: str):
    frame = artifacts.read_parquet_dir(root / name)
    key = ["record_id"] if "record_id" in frame else ["source", "source_line"]
    return frame.sort_values(key).reset_index(drop=True)


def test_stage_summaries_match_local_mode(local_run, connect_run):
    local, remote = local_run[1], connect_run[1]
    assert json.loads(json.dumps(local, default=str)) == remote
    assert remote["ingest"]["quarantined"] > 0 and remote["split"]["test"] > 0


@pytest.mark.parametrize("name", TABLES)
def test_tables_match_local_mode_row_for_row(local_run, connect_run, name):
    import pandas as pd

    if not (local_run[0] / name).is_dir():
        pytest.skip(f"this checkout has no stage that writes {name}")
    local, remote = table(local_run[0], name), table(connect_run[0], name)
    assert len(local) > 0 or name.endswith("_removed")
    pd.testing.assert_frame_equal(local, remote)


def test_an_unreachable_server_is_a_clear_error(config):
    from tunepipe.data_quality.spark import check_connect_server, get_spark
    from tunepipe.errors import TunepipeError

    port = free_port()
    nowhere = config.model_copy(update={"spark": config.spark.model_copy(update={"remote": f"sc://127.0.0.1:{port}"})})
    with pytest.raises(TunepipeError, match=rf"no Spark Connect server answers at 127\.0\.0\.1:{port}.*spark\.remote"):
        get_spark(nowhere)
    with pytest.raises(TunepipeError, match="not a Spark Connect URL"):
        check_connect_server("http://spark:15002")


def main(config_json: str, out_dir: str) -> None:
    root = Path(out_dir)
    summaries = run_stages(Config.from_json(config_json), root)
    (root / "summaries.json").write_text(json.dumps(summaries, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
