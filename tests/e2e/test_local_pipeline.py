"""The whole pipeline through `tunepipe run` on the tiny model: registered, served, cached, gated."""

import re
from pathlib import Path

import pytest

from tests.processes import processes_in
from tests.e2e.conftest import client as _client, steps, tunepipe as _tunepipe, write_config as _write_config

STEPS = ["setup", "fingerprint", "ingest", "clean", "dedup", "data-card", "pii", "review", "change", "approval-gate",
         "split", "finetune", "evaluate", "eval-gate", "register", "serve-smoke", "notify-candidate"]

pytestmark = pytest.mark.slow


def test_run_registers_serves_and_summarises(first_run, project):
    root = project[0]
    config, result = first_run
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "dataset digest" in out and "registered       tunepipe-demo-support version 1 alias @candidate" in out
    assert "approved by demo-reviewer (auto-approved" in out
    assert "served answer" in out
    server_dir = root / ".tunepipe" / "logs" / "spark-connect"
    assert (server_dir / "spark-connect.log").is_file(), "the run's Spark steps share one Spark Connect server"
    assert "Using Spark's default log4j profile" not in out, "no step started a JVM of its own"
    assert processes_in(server_dir.resolve()) == [], "the shared Spark server is stopped when the run ends"
    assert steps(result.stdout) == dict.fromkeys(STEPS, "done"), result.stdout
    assert len(result.stdout.splitlines()) < 60, "one line per step, then the summary"
    assert "Executing task" not in out and "executor_input" not in out
    logs = Path(re.search(r"^step logs +(\S+)$", out, re.M).group(1))
    assert logs.parent == root / ".tunepipe" / "logs" and {p.stem for p in logs.glob("*.log")} == {*STEPS, "pipeline", "warm-steps"}
    assert "Task 'finetune-op' finished with status SUCCESS" in (logs / "finetune.log").read_text()

    client = _client(root)
    version = client.get_model_version_by_alias("tunepipe-demo-support", "candidate")
    tags = version.tags
    assert len(tags["tunepipe.dataset_digest"]) == 64
    assert tags["tunepipe.dataset_digest"] in out
    assert tags["tunepipe.approval_reviewer"].startswith("demo-reviewer")
    assert tags["tunepipe.git_commit"] and tags["tunepipe.training_run_id"]


def test_rerun_on_unchanged_data_ends_no_change_from_the_cache(first_run, project):
    """The data steps hit the cache; the approved digest already has version 1 with this config: no change."""
    import time

    root = project[0]
    config, _ = first_run
    versions_before = len(_client(root).search_model_versions("name = 'tunepipe-demo-support'"))
    start = time.perf_counter()
    result = _tunepipe("run", str(config), cwd=root)
    seconds = time.perf_counter() - start
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    states = steps(result.stdout)
    for task in ("ingest", "clean", "dedup", "pii"):
        assert states[task] == "cached", task
    assert "no change: tunepipe-demo-support version 1 (models:/tunepipe-demo-support/1)" in out
    assert states["change"] == "done" and states["condition-1"] == "skipped"
    for task in ("approval-gate", "split", "finetune", "evaluate", "register"):
        assert task not in states, task
    assert len(_client(root).search_model_versions("name = 'tunepipe-demo-support'")) == versions_before
    print(f"no-change rerun: {seconds:.1f} s wall (target < 60 s)")
    assert seconds < 120, seconds


def test_stop_mode_refuses_unapproved_data_and_registers_nothing(first_run, project, tmp_path):
    root, data, model_dir = project
    changed = tmp_path / "changed.jsonl"
    changed.write_text(data.read_text() + '{"input": "A brand new question?", "output": "A new answer."}\n')
    config = _write_config(root, changed, model_dir, name="config-stop.yaml", approval__mode="stop",
                           registry__model_name="never-registered")
    result = _tunepipe("run", str(config), cwd=root)
    assert result.returncode == 1
    assert "awaiting approval" in result.stderr.lower() or "not approved" in result.stderr.lower()
    assert "tunepipe approve" in result.stderr
    states = steps(result.stdout)
    assert states["ingest"] == states["pii"] == "done", "a changed file is never served from the cache"
    assert states["approval-gate"] == "failed" and states.get("finetune", "skipped") == "skipped"

    assert _client(root).search_model_versions("name='never-registered'") == []
