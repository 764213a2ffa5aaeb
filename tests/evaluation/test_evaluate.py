"""Base vs candidate evaluation on the tiny models: metric shapes, report, MLflow logging."""

from __future__ import annotations

import math

import pytest


@pytest.fixture(scope="module")
def evaluated(workspace, make_cfg):
    from tunepipe.evaluation.evaluate import evaluate
    from tunepipe.tracking import stage_run

    root, _, model_dir, test_dir = workspace
    cfg = make_cfg(root / "data")
    with stage_run(cfg, "evaluate") as run:
        result = evaluate(cfg, model_dir, test_dir, str(root / "report" / "eval.html"))
    return cfg, result, root / "report" / "eval.html", run.info.run_id


def test_metrics_have_the_documented_shape(evaluated, test_rows):
    _, result, _, _ = evaluated
    assert result["n_loss"] == len(test_rows) and result["n_generated"] == 6
    for which in ("base", "candidate"):
        assert set(result[which]) == {"loss", "rouge_l"}
        assert 0.0 <= result[which]["rouge_l"] <= 1.0
        assert math.log(300) < result[which]["loss"] < 20
    assert result["base"]["loss"] != result["candidate"]["loss"]
    assert len(result["examples"]) == 5
    first = result["examples"][0]
    assert first["prompt"] == test_rows["prompt"][0] and first["reference"] == test_rows["response"][0]
    assert {"base", "candidate", "base_rouge_l", "candidate_rouge_l"} <= set(first)


def test_report_is_self_contained_html(evaluated):
    _, result, html_path, _ = evaluated
    text = html_path.read_text()
    assert text.startswith("<!doctype html>") and "data:image/png;base64," in text
    assert "What colour is item 0?" in text and "http" not in text.split("<body>")[1]


def test_metrics_and_report_are_logged_to_the_active_run(evaluated):
    import mlflow

    _, result, _, run_id = evaluated
    run = mlflow.MlflowClient().get_run(run_id)
    assert run.data.metrics["candidate_rouge_l"] == pytest.approx(result["candidate"]["rouge_l"])
    assert run.data.metrics["base_loss"] == pytest.approx(result["base"]["loss"])
    assert "eval.html" in [a.path for a in mlflow.MlflowClient().list_artifacts(run_id)]


def test_a_missing_candidate_is_a_clear_error(tmp_path, workspace, make_cfg):
    from tunepipe.errors import TunepipeError
    from tunepipe.evaluation.evaluate import evaluate

    with pytest.raises(TunepipeError, match="fine-tune"):
        evaluate(make_cfg(tmp_path), str(tmp_path / "nothing"), workspace[3], str(tmp_path / "r.html"))
