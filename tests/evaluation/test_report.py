"""The evaluation report, rendered from a result dict that follows the evaluation contract."""

from __future__ import annotations

import re

import pytest

from tunepipe.config import Config
from tunepipe.evaluation.report import model_card_section, write_report

HOSTILE = '<script>alert("x")</script> | `rm -rf` & <img src=http://evil.example/x.png>'


def _metric(value, n, reason=None):
    return {"value": value, "n": n, "reason": reason}


@pytest.fixture
def result() -> dict:
    return {
        "test": {"dir": "/data/test", "digest": "ab" * 32, "n_rows": 120, "fixed": True},
        "models": {"base": {"ref": "/models/base"}, "candidate": {"ref": "/runs/1/model"},
                   "champion": {"ref": "tunepipe-model v3", "version": "3"}},
        "champion_note": "compared with champion tunepipe-model v3",
        "metrics": {
            "base": {"loss": _metric(2.5, 120), "rouge_l": _metric(0.31, 48),
                     "ragas.faithfulness": _metric(None, 0, "judge unreachable: http://127.0.0.1:9/v1")},
            "candidate": {"loss": _metric(2.1, 120), "rouge_l": _metric(0.42, 48),
                          "ragas.faithfulness": _metric(None, 0, "judge unreachable: http://127.0.0.1:9/v1")},
            "champion": {"loss": _metric(2.2, 120), "rouge_l": _metric(0.40, 48),
                         "ragas.faithfulness": _metric(None, 0, "judge unreachable: http://127.0.0.1:9/v1")},
        },
        "deltas": {
            "candidate-base": {"loss": {"value": -0.4, "low": -0.5, "high": -0.3, "n": 120, "confidence": 0.95},
                               "rouge_l": {"value": 0.11, "low": 0.05, "high": 0.17, "n": 48, "confidence": 0.95}},
            "candidate-champion": {"rouge_l": {"value": 0.02, "low": -0.03, "high": 0.07, "n": 48,
                                               "confidence": 0.95}},
        },
        "slices": [{"slice": "shape=rag", "model": m, "metric": "rouge_l", "value": v, "n": 12}
                   for m, v in (("base", 0.2), ("candidate", 0.35), ("champion", 0.3))]
        + [{"slice": f"source={HOSTILE}", "model": "candidate", "metric": "rouge_l", "value": 0.5, "n": 4}],
        "examples": [{"kind": "win", "prompt": HOSTILE, "reference": "two years", "contexts": ["Warranty: 2 years."],
                      "shape": "rag", "source": "faq.jsonl",
                      "answers": {"base": "one year", "candidate": "two years", "champion": HOSTILE},
                      "scores": {"base": {"rouge_l": 0.5}, "candidate": {"rouge_l": 1.0},
                                 "champion": {"rouge_l": 0.0}}}],
        "gate": {"passed": False, "decidable": True, "model": "candidate",
                 "reasons": ["gain of rouge_l over champion (95% lower bound): -0.03 is not >= 0"],
                 "checks": [
                     {"name": "gain of rouge_l over base (95% lower bound)", "op": ">=", "threshold": 0.0,
                      "value": 0.11, "low": 0.05, "high": 0.17, "n": 48, "passed": True, "reason": None},
                     {"name": "gain of rouge_l over champion (95% lower bound)", "op": ">=", "threshold": 0.0,
                      "value": 0.02, "low": -0.03, "high": 0.07, "n": 48, "passed": False,
                      "reason": "gain of rouge_l over champion (95% lower bound): -0.03 is not >= 0"}]},
    }


def test_html_report_is_self_contained_and_escapes_hostile_text(tmp_path, result):
    cfg = Config.model_validate({"data": {"paths": ["x.jsonl"]}})
    html_path, md_path = tmp_path / "evaluation.html", tmp_path / "evaluation.md"
    write_report(cfg, result, html_path, md_path)
    page = html_path.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "evil.example/x.png&gt;" in page
    assert not re.search(r'(src|href)="(?!data:)', page), "the page must load nothing from outside"
    assert page.count('src="data:image/png;base64,') == 1
    for text in ("compared with champion tunepipe-model v3", "Gate failed", "[+0.05, +0.17]", "shape=rag",
                 "not computed: judge unreachable", "largest wins", "two years"):
        assert text.lower() in page.lower(), text
    md = md_path.read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\|" in md
    assert "| gain of rouge_l over champion (95% lower bound) | 0.02 | [-0.03, +0.07] | &gt;= 0 | 48 | NO |" in md


def test_model_card_section_carries_the_comparison(result):
    card = model_card_section(result)
    assert card.startswith("### Comparison")
    assert "| rouge_l | 0.31 | 0.42 | 0.4 | +0.11 [+0.05, +0.17] | +0.02 [-0.03, +0.07] |" in card
    assert "compared with champion tunepipe-model v3" in card and "Gate failed" in card


def test_first_run_without_champion_or_gate(tmp_path, result):
    result["models"]["champion"] = None
    result["champion_note"] = "no champion of tunepipe-model yet (first run): compared with base only"
    for table in (result["metrics"], result["deltas"]):
        table.pop("champion", None) or table.pop("candidate-champion", None)
    result["slices"] = [s for s in result["slices"] if s["model"] != "champion"]
    result.pop("gate")
    cfg = Config.model_validate({"data": {"paths": ["x.jsonl"]}})
    write_report(cfg, result, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "first run" in page and "Gate: not decided yet." in page and "champion</th>" not in page
