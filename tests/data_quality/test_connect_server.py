"""The Spark Connect server a local run shares: started on loopback, used by step processes through the
environment, and stopped when the run ends, including when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import processes_in
from tunepipe.config import Config
from tunepipe.data_quality.connect_server import REMOTE_ENV, ConnectServer, shared_spark, wait_for_port, wanted
from tunepipe.errors import TunepipeError

ROOT = Path(__file__).resolve().parents[2]
STEP = """
import sys
from tunepipe.config import Config
from tunepipe.data_quality.spark import get_spark
spark = get_spark(Config.from_json(sys.argv[1]))
print("rows", spark.range(25).count(), "parallelism", spark.conf.get("spark.default.parallelism"))
"""


def _cfg(tmp_path: Path, **spark) -> Config:
    return Config.model_validate({"data": {"paths": ["x.jsonl"]}, "project": {"data_dir": str(tmp_path)},
                                  "spark": spark})


def test_a_step_process_reaches_the_shared_server_through_the_environment_and_it_stops_after(tmp_path):
    cfg, workdir = _cfg(tmp_path), tmp_path / "spark-connect"
    with shared_spark(cfg, workdir) as server:
        assert os.environ[REMOTE_ENV] == server.url and server.running()
        step = subprocess.run([sys.executable, "-c", STEP, cfg.to_json()], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
        assert step.returncode == 0, step.stderr[-3000:]
        assert "rows 25 parallelism 2" in step.stdout
    assert REMOTE_ENV not in os.environ and not server.running()
    assert not wait_for_port(server.port, timeout_s=1)
    assert processes_in(workdir.resolve()) == []


def test_a_failing_run_still_stops_the_server(tmp_path):
    with pytest.raises(RuntimeError, match="a step failed"):
        with shared_spark(_cfg(tmp_path), tmp_path / "spark-connect") as server:
            raise RuntimeError("a step failed")
    assert not server.running() and REMOTE_ENV not in os.environ


def test_a_server_that_does_not_come_up_is_one_line_naming_the_switch(tmp_path):
    server = ConnectServer(tmp_path / "spark-connect")
    with pytest.raises(TunepipeError, match=r"did not start within 0 s .*spark-connect\.log.*spark\.share_local: false"):
        server.wait_ready(timeout_s=0.01)
    assert not server.running()


@pytest.mark.parametrize("spark, shared", [({}, True), ({"share_local": False}, False),
                                           ({"remote": "sc://spark:15002"}, False),
                                           ({"master": "spark://head:7077"}, False)])
def test_only_local_masters_without_a_remote_share_a_server(tmp_path, spark, shared):
    assert wanted(_cfg(tmp_path, **spark)) is shared
    if not shared:
        with shared_spark(_cfg(tmp_path, **spark), tmp_path / "unused") as server:
            assert server is None and REMOTE_ENV not in os.environ
