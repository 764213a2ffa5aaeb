"""The eval gate: lower bounds of gains, regression vs champion, floors, and undecidable checks."""

from __future__ import annotations

from tunepipe.evaluation.gate import decide


def _delta(value, low, high, n=100):
    return {"value": value, "low": low, "high": high, "n": n, "confidence": 0.95}


def _result(champion: bool = False, **extra_metrics) -> dict:
    cand = {"loss": {"value": 1.0, "n": 100, "reason": None}, "rouge_l": {"value": 0.4, "n": 48, "reason": None},
            **extra_metrics}
    deltas = {"candidate-base": {"loss": _delta(-0.5, -0.7, -0.3), "rouge_l": _delta(0.05, -0.01, 0.11, 48)}}
    if champion:
        deltas["candidate-champion"] = {"loss": _delta(0.02, -0.04, 0.08), "rouge_l": _delta(-0.02, -0.06, 0.02, 48)}
    return {"models": {"champion": {"ref": "m v1", "version": "1"} if champion else None},
            "metrics": {"candidate": cand, "base": {}}, "deltas": deltas}


def test_passes_on_the_lower_bound_of_the_loss_gain(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {"loss": 0.2}, "min_value": {"rouge_l": 0.3},
                                                  "max_value": {"loss": 1.5}}})
    result = decide(cfg, _result())
    assert result["passed"] and result["decidable"] and result["reasons"] == []
    loss = result["checks"][0]
    assert (loss["value"], loss["low"], loss["high"]) == (0.5, 0.3, 0.7), "loss gain = base - candidate"


def test_a_positive_point_gain_whose_interval_reaches_below_the_threshold_fails(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {"rouge_l": 0.0}}})
    result = decide(cfg, _result())
    assert not result["passed"] and result["decidable"]
    assert result["reasons"] == ["gain of rouge_l over base (95% lower bound): -0.0100 (gain +0.0500, interval "
                                 "[-0.0100, +0.1100], n=48) is not >= 0 (evaluation.gate.min_gain.rouge_l)"]


def test_regression_vs_champion_is_checked_only_when_there_is_one(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {}, "max_regression_vs_champion": {"rouge_l": 0.05,
                                                                                                  "loss": 0.01}}})
    first = decide(cfg, _result())
    assert first["passed"] and all(c.get("skipped") for c in first["checks"])
    second = decide(cfg, _result(champion=True))
    assert not second["passed"]
    assert len(second["reasons"]) == 2 and "rouge_l over champion" in second["reasons"][0]
    assert "-0.0600" in second["reasons"][0] and "is not >= -0.05" in second["reasons"][0]
    assert "loss over champion (95% lower bound): -0.0800" in second["reasons"][1]


def test_a_metric_that_was_not_computed_makes_the_gate_undecidable(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {"ragas.faithfulness": 0.0},
                                                  "min_value": {"bleu_typo": 0.1}}})
    result = decide(cfg, _result(**{"ragas.faithfulness": {"value": None, "n": 0,
                                                           "reason": "judge unreachable: connection refused"}}))
    assert result["passed"] is False and result["decidable"] is False
    assert "gate metric ragas.faithfulness was not computed (judge unreachable: connection refused)" in result["reasons"][0]
    assert "nothing is registered" in result["reasons"][0]
    assert "gate metric bleu_typo was not computed (no such metric in this evaluation); computed: loss, rouge_l" in \
        result["reasons"][1]


def test_shorthands_of_the_first_gate_still_work(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_rouge_l": 0.5, "min_rouge_l_gain": 0.0, "max_loss": 0.5}})
    gate = cfg.evaluation.gate
    assert gate.min_gain == {"loss": 0.0, "rouge_l": 0.0} and gate.min_value == {"rouge_l": 0.5}
    result = decide(cfg, _result())
    assert [c["passed"] for c in result["checks"]] == [True, False, False, False]
    assert "candidate loss 1.0000 (n=100) is not <= 0.5 (evaluation.gate.max_value.loss)" in result["reasons"]
    assert make_cfg(tmp_path, evaluation={"gate": {"min_rouge_l_gain": -1.0}}).evaluation.gate.min_gain == {"loss": 0.0}


def test_the_pipeline_knob_min_rouge_l_gain_round_trips(tmp_path, make_cfg):
    from tunepipe.pipelines.knobs import apply_knobs, knob_defaults

    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {"rouge_l": 0.05}}})
    assert knob_defaults(cfg)["min_rouge_l_gain"] == 0.05
    assert apply_knobs(cfg.to_json(), {"min_rouge_l_gain": "0.1"}).evaluation.gate.min_gain == {"rouge_l": 0.1}
    assert apply_knobs(make_cfg(tmp_path).to_json(), {"min_rouge_l_gain": "-1"}).evaluation.gate.min_gain == {"loss": 0.0}


def test_each_model_is_gated_on_its_own_deltas(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_gain": {"loss": 0.2}}})
    result = _result()
    result["deltas"]["candidate2-base"] = {"loss": _delta(-0.1, -0.15, -0.05)}
    result["metrics"]["candidate2"] = {"loss": {"value": 1.4, "n": 100, "reason": None}}
    first, second = decide(cfg, result, "candidate"), decide(cfg, result, "candidate2")
    assert first["passed"] and first["model"] == "candidate"
    assert not second["passed"] and second["model"] == "candidate2"
    assert "gain of loss over base (95% lower bound): +0.0500" in second["reasons"][0]
