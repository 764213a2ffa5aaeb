"""The eval gate: every configured threshold, pass and fail, with reasons a reviewer can read."""

from __future__ import annotations

from tunepipe.evaluation.gate import eval_gate


def _metrics(base_rouge: float, cand_rouge: float, cand_loss: float = 1.0) -> dict:
    return {"base": {"loss": 2.0, "rouge_l": base_rouge}, "candidate": {"loss": cand_loss, "rouge_l": cand_rouge}}


def test_passes_when_every_threshold_is_met(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_rouge_l": 0.3, "min_rouge_l_gain": 0.05, "max_loss": 1.5}})
    result = eval_gate(cfg, _metrics(0.2, 0.4))
    assert result["passed"] and result["reasons"] == [] and len(result["checks"]) == 3


def test_fails_on_low_rouge_and_on_too_small_a_gain(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"min_rouge_l": 0.5, "min_rouge_l_gain": 0.1}})
    result = eval_gate(cfg, _metrics(0.38, 0.4))
    assert not result["passed"] and len(result["reasons"]) == 2
    assert "candidate ROUGE-L 0.4000 is not >= 0.5" in result["reasons"][0]
    assert "gain over base 0.0200 is not >= 0.1" in result["reasons"][1]


def test_fails_on_loss_and_a_regression_is_caught_by_default(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, evaluation={"gate": {"max_loss": 0.5}})
    result = eval_gate(cfg, _metrics(0.3, 0.2, cand_loss=0.9))
    assert not result["passed"]
    assert any("gain over base -0.1000" in r for r in result["reasons"])
    assert any("answer loss 0.9000 is not <= 0.5" in r for r in result["reasons"])
