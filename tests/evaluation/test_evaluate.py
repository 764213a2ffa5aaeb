"""Base vs candidate (vs champion) on the tiny models: the result contract, caching, logging, bad input."""

from __future__ import annotations

import json
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


def test_the_result_follows_the_contract(evaluated, test_rows):
    _, result, html_path, _ = evaluated
    assert result["test"]["n_rows"] == len(test_rows) and len(result["test"]["digest"]) == 64
    assert result["test"]["fixed"] is False and result["test"]["n_generated"] == 6
    assert result["models"]["champion"] is None and "first run" in result["champion_note"]
    for which in ("base", "candidate"):
        table = result["metrics"][which]
        assert {"loss", "perplexity", "rouge_l", "bleu", "chrf", "exact_match", "token_f1"} <= set(table)
        assert table["loss"]["n"] == len(test_rows) and table["rouge_l"]["n"] == 6
        assert math.log(300) < table["loss"]["value"] < 20
        assert table["perplexity"]["value"] == pytest.approx(math.exp(table["loss"]["value"]))
        assert all(0.0 <= table[m]["value"] <= 1.0 for m in ("rouge_l", "bleu", "chrf", "exact_match", "token_f1"))
    delta = result["deltas"]["candidate-base"]["loss"]
    assert delta["low"] <= delta["value"] <= delta["high"] and delta["n"] == len(test_rows)
    assert delta["value"] == pytest.approx(result["metrics"]["candidate"]["loss"]["value"]
                                           - result["metrics"]["base"]["loss"]["value"])
    assert "candidate-champion" not in result["deltas"]
    assert {s["slice"] for s in result["slices"]} == {"shape=", "source="}
    assert result["gate"]["checks"] and isinstance(result["gate"]["passed"], bool)
    on_disk = json.loads((html_path.parent / "evaluation.json").read_text())
    assert on_disk["test"]["digest"] == result["test"]["digest"]


def test_examples_are_the_largest_wins_and_regressions(evaluated):
    _, result, _, _ = evaluated
    for example in result["examples"]:
        gain = example["scores"]["candidate"]["rouge_l"] - example["scores"]["base"]["rouge_l"]
        assert (gain > 0) == (example["kind"] == "win")
        assert set(example["answers"]) == {"base", "candidate"}


def test_metrics_and_report_are_logged_to_the_active_run(evaluated):
    from tunepipe import tracking

    cfg, result, _, run_id = evaluated
    client = tracking.client(cfg)
    run = client.get_run(run_id)
    assert run.data.metrics["candidate.rouge_l"] == pytest.approx(result["metrics"]["candidate"]["rouge_l"]["value"])
    assert run.data.metrics["delta.candidate-base.loss.low"] == pytest.approx(
        result["deltas"]["candidate-base"]["loss"]["low"])
    assert run.data.tags["tunepipe.eval.champion_version"] == "none"
    assert {"eval.html", "evaluation.json"} <= {a.path for a in client.list_artifacts(run_id)}


def test_a_rerun_takes_the_base_models_scores_from_the_cache(evaluated, workspace, make_cfg):
    from tunepipe.evaluation.evaluate import evaluate

    cfg, first, _, _ = evaluated
    root, _, model_dir, test_dir = workspace
    again = evaluate(cfg, model_dir, test_dir, str(root / "report2" / "eval.html"))
    assert again["models"]["base"]["cached"] is True and again["models"]["candidate"]["cached"] is False
    assert again["metrics"]["base"] == first["metrics"]["base"]
    other = make_cfg(root / "data", evaluation={"max_new_tokens": 5})
    assert evaluate(other, model_dir, test_dir, str(root / "report3" / "e.html"))["models"]["base"]["cached"] is False


def test_a_missing_candidate_is_a_clear_error(tmp_path, workspace, make_cfg):
    from tunepipe.errors import TunepipeError
    from tunepipe.evaluation.evaluate import evaluate

    with pytest.raises(TunepipeError, match="fine-tune"):
        evaluate(make_cfg(tmp_path), str(tmp_path / "nothing"), workspace[3], str(tmp_path / "r.html"))
