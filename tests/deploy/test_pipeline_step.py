"""The staging deploy step in the compiled pipeline: behind the eval gate, after registration, only when asked."""

from __future__ import annotations

import yaml

from tunepipe.config import load_config
from tunepipe.pipelines.compile import compile_pipeline


def _compiled(tmp_path, *overrides: str) -> dict:
    cfg = load_config("examples/demo.yaml", list(overrides))
    return next(yaml.safe_load_all(compile_pipeline(cfg, tmp_path / "pipeline.yaml").read_text()))


def _gated_tasks(spec: dict) -> dict:
    """The tasks behind the eval gate: the condition next to eval-gate-op (itself behind the change decision)."""
    dags = [spec["root"]["dag"]["tasks"]] + [c["dag"]["tasks"] for c in spec["components"].values() if "dag" in c]
    beside_gate = next(tasks for tasks in dags if "eval-gate-op" in tasks)
    condition = next(name for name, task in beside_gate.items() if name.startswith("condition")
                     and "eval-gate-op" in task["triggerPolicy"]["condition"])
    return spec["components"][f"comp-{condition}"]["dag"]["tasks"]


def test_deploy_staging_runs_after_register_inside_the_eval_gate(tmp_path):
    spec = _compiled(tmp_path, "serving.deploy_staging=true")
    tasks = _gated_tasks(spec)
    step = tasks["deploy-staging-op"]
    assert step["dependentTasks"] == ["register-op"]
    model_uri = step["inputs"]["parameters"]["model_uri"]["taskOutputParameter"]
    assert model_uri == {"producerTask": "register-op", "outputParameterKey": "model_uri"}
    assert step.get("cachingOptions", {}).get("enableCache", False) is False
    assert "deploy-staging-op" not in spec["root"]["dag"]["tasks"]
    executor = spec["deploymentSpec"]["executors"]["exec-deploy-staging-op"]["container"]
    assert "accelerator" not in executor.get("resources", {})


def test_no_deploy_step_unless_serving_deploy_staging(tmp_path):
    spec = _compiled(tmp_path)
    assert "deploy-staging-op" not in _gated_tasks(spec)
    assert "exec-deploy-staging-op" not in spec["deploymentSpec"]["executors"]
