"""A second `tunepipe run` on the same project once the first run's version is champion: the candidate is
scored against base and that champion on the same rows, the base model's scores come from the cache, and the
new version is promotable because it was evaluated against the current champion.

Runs after test_local_pipeline.py (file order): it registers the next version and moves `candidate` to it.
"""

import json
import re

import pytest
import yaml

from tests.e2e.conftest import client as _client, tunepipe as _tunepipe

pytestmark = pytest.mark.slow
MODEL = "tunepipe-demo-support"


def _evaluate_summary(client, version) -> dict:
    import mlflow

    run = client.get_run(version.tags["tunepipe.eval.run_id"])
    return mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/summary.json")


def test_second_run_is_compared_with_the_promoted_champion(first_run, project):
    root = project[0]
    config, first = first_run
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    client = _client(root)
    v1 = client.get_model_version(MODEL, "1")
    assert v1.tags["tunepipe.eval.gate"] == "passed" and v1.tags["tunepipe.eval.champion_version"] == "none"

    promoted = _tunepipe("promote", MODEL, "1", "--reviewer", "e2e-reviewer", "--note", "first champion",
                         "--config", str(config), cwd=root)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr

    raw = yaml.safe_load(config.read_text())
    raw["training"]["learning_rate"] = raw["training"]["learning_rate"] * 1.5
    second_config = root / "config-second.yaml"
    second_config.write_text(yaml.safe_dump(raw))
    result = _tunepipe("run", str(second_config), cwd=root)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert f"compared with base and with the champion, {MODEL} v1" in out
    assert "vs champion (95% CI)" in out
    registered = re.search(rf"registered       {MODEL} version (\d+)", out)
    assert registered and int(registered.group(1)) > 1, out[-3000:]

    v2 = client.get_model_version(MODEL, registered.group(1))
    assert v2.tags["tunepipe.eval.champion_version"] == "1"
    assert "tunepipe.eval.loss.vs_champion" in v2.tags
    summary = _evaluate_summary(client, v2)
    assert summary["models"]["champion"]["version"] == "1"
    assert summary["models"]["base"]["cached"] is True, "the base model's scores come from the first run's cache"
    assert set(summary["deltas"]["candidate-champion"]) >= {"loss", "rouge_l"}
    print("gate of the second run:", json.dumps(summary["gate"]["checks"], default=str)[:600])

    promoted = _tunepipe("promote", MODEL, str(v2.version), "--reviewer", "e2e-reviewer", "--note", "beat v1",
                         "--config", str(second_config), cwd=root)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == str(v2.version)
