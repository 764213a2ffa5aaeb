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

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.connect_server import READY_TIMEOUT_S, ConnectServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STAGE_TIMEOUT_S = 600
SPLIT_DIRS = ("train", "validation", "test")
TABLES = ("records", "quarantine", "clean", "clean_removed", "dedup", "dedup_removed", *SPLIT_DIRS)


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_data", EXAMPLES / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_stages(cfg: Config, root: Path) -> dict:
    """ingest -> clean_records -> deduplicate -> split_dataset (with its input's digest) into `root`."""
    from tunepipe.data_quality.clean import clean_records
    from tunepipe.data_quality.common import read_dataset
    from tunepipe.data_quality.dedup import deduplicate
    from tunepipe.data_quality.ingest import ingest
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.data_quality.split import split_dataset
    from tunepipe.digest import spark_digest

    out = {name: str(root / name) for name in TABLES}
    summaries = {
        "ingest": ingest(cfg, out["records"], out["quarantine"]),
        "clean": clean_records(cfg, out["records"], out["clean"], out["clean_removed"]),
        "dedup": deduplicate(cfg, out["clean"], out["dedup"], out["dedup_removed"]),
    }
    digest = spark_digest(read_dataset(get_spark(cfg), out["dedup"]))
    summaries["split"] = split_dataset(cfg, out["dedup"], *(out[s] for s in SPLIT_DIRS), digest)
    return summaries


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    server = ConnectServer(tmp_path_factory.mktemp("spark-connect"))  # the one `tunepipe run` shares
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


def with_remote(cfg: Config, url: str) -> Config:
    return cfg.model_copy(update={"spark": cfg.spark.model_copy(update={"remote": url})})


@pytest.fixture(scope="module")
def connect_child(connect_server, config, tmp_path_factory):
    """The stages over Spark Connect in a subprocess, started at once: it waits for the server."""
    root = tmp_path_factory.mktemp("connect-run")
    with (root / "run.log").open("wb") as log:
        child = subprocess.Popen([sys.executable, __file__, with_remote(config, connect_server.url).to_json(),
                                  str(root)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield root, child
    if child.poll() is None:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def local_run(connect_child, spark, config, tmp_path_factory):
    """The same stages in local mode, in this process, while the server starts and the child runs."""
    root = tmp_path_factory.mktemp("local-run")
    return root, run_stages(config, root)


@pytest.fixture(scope="module")
def connect_run(local_run, connect_child, connect_server):
    root, child = connect_child
    try:
        code = child.wait(timeout=STAGE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        code = f"no exit within {STAGE_TIMEOUT_S}s"
    if code != 0:
        log = "\n".join((root / "run.log").read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"the stages over Spark Connect failed ({code}):\n{log}\n\nthe server {connect_server.status()}; its log ends:\n"
                    f"{connect_server.log.read_text(errors='replace')[-3000:]}")
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

    local, remote = table(local_run[0], name), table(connect_run[0], name)
    assert len(local) > 0 or name.endswith("_removed")
    pd.testing.assert_frame_equal(local, remote)


def test_an_unreachable_server_is_a_clear_error(config):
    from tunepipe.data_quality.spark import check_connect_server, get_spark
    from tunepipe.errors import TunepipeError

    port = free_port()
    unreachable = rf"no Spark Connect server answers at 127\.0\.0\.1:{port}.*spark\.remote"
    with pytest.raises(TunepipeError, match=unreachable):
        get_spark(with_remote(config, f"sc://127.0.0.1:{port}"))
    with pytest.raises(TunepipeError, match="not a Spark Connect URL"):
        check_connect_server("http://spark:15002")


def main(config_json: str, out_dir: str) -> None:
    cfg = Config.from_json(config_json)
    port = int(cfg.spark.remote.rsplit(":", 1)[1])
    if not wait_for_port(port):
        sys.exit(f"the Spark Connect server did not listen on port {port} within {READY_TIMEOUT_S}s")
    root = Path(out_dir)
    summaries = run_stages(cfg, root)
    (root / "summaries.json").write_text(json.dumps(summaries, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
