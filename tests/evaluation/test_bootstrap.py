"""Paired bootstrap intervals and slices on constructed cases whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunepipe.evaluation.bootstrap import paired_delta, slices, value


def test_a_constant_gain_on_noisy_rows_has_a_zero_width_paired_interval():
    """Rows differ wildly, the candidate beats the base by exactly 0.05 on each: pairing sees only the 0.05."""
    base = np.random.default_rng(0).uniform(0, 0.9, 200)
    delta = paired_delta("rouge_l", {"rouge_l": base + 0.05}, {"rouge_l": base})
    assert delta["value"] == pytest.approx(0.05) and delta["n"] == 200
    assert delta["low"] == pytest.approx(0.05) and delta["high"] == pytest.approx(0.05)


def test_the_interval_matches_the_normal_theory_width():
    """Differences ~ N(0.2, 1), n=400: the 95% interval is about mean +- 1.96 / sqrt(400) = +- 0.098."""
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 400)
    diff = rng.normal(0.2, 1.0, 400)
    delta = paired_delta("token_f1", {"token_f1": base + diff}, {"token_f1": base})
    half = 1.96 * diff.std(ddof=1) / math.sqrt(400)
    assert delta["value"] == pytest.approx(diff.mean())
    assert delta["low"] == pytest.approx(diff.mean() - half, abs=0.02)
    assert delta["high"] == pytest.approx(diff.mean() + half, abs=0.02)
    assert delta["confidence"] == 0.95


def test_loss_is_pooled_over_tokens_and_rows_scored_by_one_model_only_are_left_out():
    nan = float("nan")
    cand = {"loss_sum": [2.0, 6.0, nan], "loss_tokens": [2, 3, nan]}
    base = {"loss_sum": [4.0, 9.0, 1.0], "loss_tokens": [2, 3, 1]}
    assert value("loss", cand) == (pytest.approx(8 / 5), 2)
    assert value("perplexity", base)[0] == pytest.approx(math.exp(14 / 6))
    delta = paired_delta("loss", cand, base)
    assert delta["n"] == 2 and delta["value"] == pytest.approx(8 / 5 - 13 / 5)
    assert delta["low"] <= delta["value"] <= delta["high"]


def test_no_common_rows_is_no_delta():
    nan = float("nan")
    assert paired_delta("bleu", {"bleu": [nan, 1.0]}, {"bleu": [0.5, nan]}) is None


def test_slices_by_shape_and_source_file_name():
    rows = [{"shape": "rag", "source": "/d/a.jsonl"}, {"shape": "chat", "source": "/d/a.jsonl"},
            {"shape": "rag", "source": "/e/b.jsonl"}]
    table = slices(rows, {"base": {"exact_match": [1.0, 0.0, 0.0]}}, ["exact_match"])
    got = {(r["slice"], r["model"], r["metric"]): (r["value"], r["n"]) for r in table}
    assert got[("shape=rag", "base", "exact_match")] == (0.5, 2)
    assert got[("shape=chat", "base", "exact_match")] == (0.0, 1)
    assert got[("source=a.jsonl", "base", "exact_match")] == (0.5, 2)
    assert got[("source=b.jsonl", "base", "exact_match")] == (0.0, 1)
