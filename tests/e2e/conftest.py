"""Session fixtures of the e2e tests: a project on the tiny model, and its first `tunepipe run`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TUNEPIPE = [sys.executable, "-m", "tunepipe.cli"]


def write_config(project: Path, data: Path, model_dir: str, **extra) -> Path:
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


def tunepipe(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(REPO)}
    for leaked in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(leaked, None)
    return subprocess.run([*TUNEPIPE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def client(root: Path):
    """A client on the project's store (tracking and registry: other tests leave mlflow's globals set)."""
    import mlflow

    uri = f"sqlite:///{root / '.tunepipe' / 'mlflow.db'}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("project")
    data = root / "support.jsonl"
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", "3", "--n", "240",
                    "--out", str(data)], check=True)
    model_dir = build_tiny_model(str(root / "tiny-model"))
    return root, data, model_dir


@pytest.fixture(scope="session")
def first_run(project):
    root, data, model_dir = project
    config = write_config(root, data, model_dir)
    return config, tunepipe("run", str(config), cwd=root)
