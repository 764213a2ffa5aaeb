"""The whole pipeline through `tunepipe run` on the tiny model: registered, served, cached, gated."""

import pytest

from tests.e2e.conftest import client as _client, tunepipe as _tunepipe, write_config as _write_config

pytestmark = pytest.mark.slow


def test_run_registers_serves_and_summarises(first_run, project):
    root = project[0]
    config, result = first_run
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "dataset digest" in out and "registered       tunepipe-demo-support version 1 alias @candidate" in out
    assert "approved by demo-reviewer (auto-approved" in out
    assert "served answer" in out

    client = _client(root)
    version = client.get_model_version_by_alias("tunepipe-demo-support", "candidate")
    tags = version.tags
    assert len(tags["tunepipe.dataset_digest"]) == 64
    assert tags["tunepipe.dataset_digest"] in out
    assert tags["tunepipe.approval_reviewer"].startswith("demo-reviewer")
    assert tags["tunepipe.git_commit"] and tags["tunepipe.training_run_id"]


def test_rerun_hits_the_cache_for_data_and_training(first_run, project):
    root = project[0]
    config, _ = first_run
    result = _tunepipe("run", str(config), cwd=root)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    for task in ("ingest-op", "clean-op", "pii-op", "split-op", "finetune-op"):
        assert f"Task {task} cache hit" in out, task
    assert "version 2 alias @candidate" in out


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

    assert _client(root).search_model_versions("name='never-registered'") == []
