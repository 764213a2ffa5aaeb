"""tunepipe.components.evaluation's gate through python_func: a single bool, the decision on the stage run."""

from __future__ import annotations

import json

import pytest


def _evaluation(loss_gain_low: float) -> dict:
    delta = {"value": loss_gain_low + 0.2, "low": loss_gain_low, "high": loss_gain_low + 0.4, "n": 40,
             "confidence": 0.95}
    negated = {**delta, "value": -delta["value"], "low": -delta["high"], "high": -delta["low"]}
    return {"models": {"champion": None}, "metrics": {"candidate": {"loss": {"value": 1.0, "n": 40, "reason": None}},
                                                      "base": {}},
            "deltas": {"candidate-base": {"loss": negated}}}


@pytest.mark.parametrize("low, passed, tag", [(0.1, True, "passed"), (0.01, False, "failed")])
def test_eval_gate_returns_the_decision_and_tags_the_stage_run(project, parent_run, low, passed, tag):
    from tunepipe import tracking
    from tunepipe.components.evaluation import eval_gate_op

    _, cfg = project
    cfg = cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update={
        "gate": cfg.evaluation.gate.model_copy(update={"min_gain": {"loss": 0.05}, "min_value": {},
                                                         "max_value": {}, "max_regression_vs_champion": {}})})})
    result = eval_gate_op.python_func(config=cfg.to_json(), parent_run_id=parent_run,
                                      eval_summary=json.dumps(_evaluation(low)))
    assert result is passed
    client = tracking.client(cfg)
    [run] = [r for r in client.search_runs([client.get_run(parent_run).info.experiment_id],
                                           f"tags.mlflow.parentRunId = '{parent_run}' and tags.tunepipe.eval_gate = '{tag}'")]
    assert client.get_run(run.info.run_id).data.metrics["gate_passed"] == float(passed)
