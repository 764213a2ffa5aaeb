"""The whole pipeline through `tunepipe run` on the tiny model: registered, served, cached, gated."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TUNEPIPE = [sys.executable, "-m", "tunepipe.cli"]
pytestmark = pytest.mark.slow


def _write_config(project: Path, data: Path, model_dir: str, **extra) -> Path:
    cfg = yaml.safe_load((REPO / "examples/demo.yaml").read_text())
    cfg["project"]["data_dir"] = str(project / ".tunepipe")
    cfg["data"].update(paths=[str(data)], max_quarantine_rate=0.1)
    cfg["model"] = {"base": model_dir, "max_seq_len": 128}
    cfg["training"].update(max_steps=4, batch_size=4)
    cfg["evaluation"] = {"max_samples": 4, "max_new_tokens": 8, "batch_size": 4,
                         "gate": {"min_rouge_l_gain": -1.0}}
    cfg["serving"]["max_new_tokens"] = 8
    for dotted, value in extra.items():
        section, key = dotted.split("__")
        cfg[section][key] = value
    path = project / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _tunepipe(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(REPO)}
    for leaked in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(leaked, None)
    return subprocess.run([*TUNEPIPE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def _client(root: Path):
    """A client on the project's store (tracking and registry: other tests leave mlflow's globals set)."""
    import mlflow

    uri = f"sqlite:///{root / '.tunepipe' / 'mlflow.db'}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("project")
    data = root / "support.jsonl"
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", "3", "--n", "240",
                    "--out", str(data)], check=True)
    model_dir = build_tiny_model(str(root / "tiny-model"))
    return root, data, model_dir


@pytest.fixture(scope="module")
def first_run(project):
    root, data, model_dir = project
    config = _write_config(root, data, model_dir)
    return config, _tunepipe("run", str(config), cwd=root)


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
    config = _write_config(root, changed, model_dir, approval__mode="stop",
                           registry__model_name="never-registered")
    result = _tunepipe("run", str(config), cwd=root)
    assert result.returncode == 1
    assert "awaiting approval" in result.stderr.lower() or "not approved" in result.stderr.lower()
    assert "tunepipe approve" in result.stderr

    assert _client(root).search_model_versions("name='never-registered'") == []
