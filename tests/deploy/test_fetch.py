"""The serving pods' init container: a registered version's HF weights and PEFT adapters out of a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunepipe.config import Config
from tunepipe.deploy import fetch
from tunepipe.errors import TunepipeError

LINEAGE = {"dataset_digest": "d" * 64, "approval_reviewer": "alice", "approval_time": "2026-12-03T10:00:00Z",
           "pipeline_run_id": "p-1", "git_commit": "abc1234", "config_digest": "0123456789abcdef",
           "training_run_id": "run-train-1"}
METRICS = {"n_loss": 1, "n_generated": 1, "base": {"loss": 6.0, "rouge_l": 0.1},
           "candidate": {"loss": 2.0, "rouge_l": 0.4}, "examples": []}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite store with the tiny model registered and a run holding two artifacts: an adapter, a stray file."""
    from tunepipe import tracking
    from tunepipe.registry.register import register_model
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("fetch")
    db = f"sqlite:///{root / 'mlflow.db'}"
    cfg = Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(root / "data")},
                                 "mlflow": {"tracking_uri": db}, "registry": {"model_name": "tiny-support"}})
    build_tiny_model(root / "trained" / "merged", seed=3)
    version = register_model(cfg, root / "trained", METRICS, LINEAGE)["version"]
    adapter = root / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8, "target_modules": ["q_proj", "v_proj"]}))
    (root / "notes.txt").write_text("not an adapter")
    client = tracking.client(cfg)
    run = client.create_run(tracking.ensure_experiment(cfg)).info.run_id
    client.log_artifacts(run, str(adapter), "adapter")
    client.log_artifact(run, str(root / "notes.txt"), "notes")
    client.set_terminated(run)
    return db, version, run


def test_fetch_writes_the_hf_dir_and_each_adapter(tmp_path, store, monkeypatch):
    db, version, run = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    out = tmp_path / "model"
    paths = fetch.fetch(fetch._config(), f"models:/tiny-support/{version}", str(out),
                        {"billing": f"runs:/{run}/adapter"}, adapter_root=str(tmp_path / "adapters"))
    assert (out / "config.json").is_file() and list(out.glob("*.safetensors"))
    assert (out / "tokenizer.json").is_file() or (out / "tokenizer_config.json").is_file()
    assert json.loads((Path(paths["billing"]) / "adapter_config.json").read_text())["r"] == 8


def test_an_artifact_that_is_no_adapter_is_refused(tmp_path, store, monkeypatch):
    db, version, run = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    with pytest.raises(TunepipeError, match="no adapter_config.json"):
        fetch.fetch(fetch._config(), f"models:/tiny-support/{version}", str(tmp_path / "m"),
                    {"notes": f"runs:/{run}/notes"}, adapter_root=str(tmp_path / "adapters"))


def test_the_command_line_takes_name_equals_uri(tmp_path, store, monkeypatch, capsys):
    db, version, _ = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    fetch.main(["--model-uri", f"models:/tiny-support/{version}", "--out", str(tmp_path / "m")])
    assert f"model: {tmp_path / 'm'}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        fetch.main(["--model-uri", "models:/x/1", "--out", str(tmp_path / "n"), "--adapter", "no-equals-sign"])
