"""Session fixtures of the e2e tests: a project on the tiny model, and its first `tunepipe run`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TUNEPIPE = [sys.executable, "-m", "tunepipe.cli"]
PII_SALT = "e2e-salt-9f2c47d1b83a6e05"
PLANTED = {"PERSON": "Ingrid Holmqvist", "EMAIL_ADDRESS": "ingrid.holmqvist@fastmail.se",
           "PHONE_NUMBER": "+44 20 7946 0958", "CREDIT_CARD": "5425 2334 3010 9903", "US_SSN": "536-22-8156",
           "IBAN_CODE": "GB82 WEST 1234 5698 7654 32", "IP_ADDRESS": "203.0.113.77"}


def plant_pii(data: Path) -> None:
    """Planted identifiers in a record repeated 6 times (a duplicate cluster) and in a malformed line."""
    p = PLANTED
    question = (f"My card {p['CREDIT_CARD']} was charged twice. I am {p['PERSON']} ({p['EMAIL_ADDRESS']}, "
                f"{p['PHONE_NUMBER']}), SSN {p['US_SSN']}, IBAN {p['IBAN_CODE']}, I log in from {p['IP_ADDRESS']}.")
    record = json.dumps({"input": question, "output": "Hi Ingrid, we have refunded the duplicate charge. Steps: "
                         "1) Check your statement 2) Contact us if it is still there."})
    broken = f'{{"input": "Call {p["PERSON"]} on {p["PHONE_NUMBER"]}", "output": '
    with data.open("a", encoding="utf-8") as fh:
        fh.write("\n".join([record] * 6 + [broken]) + "\n")


def write_config(project: Path, data: Path, model_dir: str, name: str = "config.yaml", **extra) -> Path:
    """A config file of its own per caller: the first run's config.yaml is reused by later tests."""
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
    path = project / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def cli_env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(REPO),
           "TUNEPIPE_PII_SALT": PII_SALT}
    for leaked in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(leaked, None)
    return env


def tunepipe(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*TUNEPIPE, *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=1800)


STEP_ROW = re.compile(r"^. (\S+)\s+(done|cached|failed|skipped|stopped)\b")


def steps(out: str) -> dict[str, str]:
    """The live view's step lines of a run's output: step name -> state."""
    return {m.group(1): m.group(2) for m in map(STEP_ROW.match, out.splitlines()) if m}


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
    plant_pii(data)
    model_dir = build_tiny_model(str(root / "tiny-model"))
    return root, data, model_dir


@pytest.fixture(scope="session")
def first_run(project):
    root, data, model_dir = project
    config = write_config(root, data, model_dir, pii__actions={"EMAIL_ADDRESS": "hash"})
    return config, tunepipe("run", str(config), cwd=root)
