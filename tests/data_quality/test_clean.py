"""Clean: text normalisation, length filters and exact dedup, with counts that add up."""

from __future__ import annotations

import pandas as pd
import pytest

from tunepipe import artifacts
from tunepipe.data_quality.clean import clean_and_dedup
from tunepipe.errors import TunepipeError

ANSWER = "Hi Ada, open Billing > Invoices. — Northwind Support"
# record_id -> (prompt, context, response)
ROWS = {
    "r01": ("<p>Hello&nbsp;team,</p><p>Where is my <b>invoice</b>?</p>", None, ANSWER),
    "r02": ("Ｗｈｅｒｅ is my\u00a0invoice\u200b?\x07", None, ANSWER),
    "r03": ("Line one\r\nLine two  \t with\ttabs\n\n\n\nEnd", None, ANSWER),
    "r04": ("Is 3 < 5 and 7 > 2? Tom &amp; Jerry &lt;b&gt;", None, ANSWER),
    "r05": ("How do refunds work?", "<div>Refunds take 5 days.</div>\n\n<li>Ask finance</li>", ANSWER),
    "r06": ("How do refunds work?", "   ", ANSWER),
    "r07": ("Where is my invoice?", None, ANSWER),
    "r08": ("  Where is my\ninvoice?  ", None, ANSWER),
    "r09": ("Where is my invoice?", None, "<br>" + ANSWER + "<br/>"),
    "r10": ("<b></b>", None, ANSWER),
    "r11": ("Long one " + "word " * 40, None, ANSWER),
    "r12": ("Where is my invoice?", None, "ok"),
}
EXPECTED_TEXT = {
    "r01": "Hello team,\nWhere is my invoice?",
    "r02": "Where is my invoice?",
    "r03": "Line one\nLine two with tabs\n\nEnd",
    "r04": "Is 3 < 5 and 7 > 2? Tom & Jerry <b>",
    "r08": "Where is my\ninvoice?",
}


@pytest.fixture(scope="module")
def cleaned(spark, tmp_path_factory):
    from tunepipe.config import Config

    tmp = tmp_path_factory.mktemp("clean")
    frame = pd.DataFrame(
        [{"record_id": rid, "source": "s.jsonl", "source_line": i, "shape": "prompt_completion",
          "prompt": p, "context": c, "response": r} for i, (rid, (p, c, r)) in enumerate(ROWS.items(), 1)]
    )
    (tmp / "in").mkdir()
    frame.to_parquet(tmp / "in" / "part-0.parquet")
    cfg = Config.model_validate({"data": {"paths": ["unused"], "min_chars": 3, "max_chars": 200},
                                 "project": {"data_dir": str(tmp / "p")}})
    summary = clean_and_dedup(cfg, str(tmp / "in"), str(tmp / "out"))
    out = artifacts.read_parquet_dir(tmp / "out").set_index("record_id")
    return summary, out, artifacts.read_summary(tmp / "out")


def test_text_is_normalised(cleaned):
    _, out, _ = cleaned
    for rid, text in EXPECTED_TEXT.items():
        assert out.loc[rid, "prompt"] == text, rid
    assert out.loc["r05", "context"] == "Refunds take 5 days.\n\nAsk finance"
    assert out.loc["r01", "response"] == ANSWER


def test_exact_duplicates_keep_smallest_record_id(cleaned):
    _, out, _ = cleaned
    assert "r02" in out.index and "r07" not in out.index and "r09" not in out.index
    assert "r05" in out.index and "r06" in out.index
    assert pd.isna(out.loc["r06", "context"])


def test_filters_and_accounting(cleaned):
    summary, out, written = cleaned
    assert summary == written
    assert summary["filtered"] == {"too_long": 1, "too_short": 2}
    assert set(out.index).isdisjoint({"r10", "r11", "r12"})
    assert summary["exact_duplicates"] == 2
    assert summary["kept"] == len(out) == 7
    assert summary["input_rows"] == len(ROWS) == (
        summary["kept"] + sum(summary["filtered"].values()) + summary["exact_duplicates"]
    )
    assert list(out.columns) == ["source", "source_line", "shape", "prompt", "context", "response"]


def test_missing_input_dir_is_explained(tmp_path, make_cfg):
    with pytest.raises(TunepipeError, match="holds no Parquet files; run the previous stage first"):
        clean_and_dedup(make_cfg(["unused"]), str(tmp_path / "nothing"), str(tmp_path / "out"))


def test_nothing_left_is_an_error(spark, tmp_path, make_cfg):
    (tmp_path / "in").mkdir()
    pd.DataFrame([{"record_id": "a", "source": "s", "source_line": 1, "shape": "prompt_completion",
                   "prompt": "<br>", "context": "c", "response": ANSWER}]).to_parquet(tmp_path / "in" / "p.parquet")
    with pytest.raises(TunepipeError, match=r"no records left after cleaning .*too_short.*data.min_chars=2"):
        clean_and_dedup(make_cfg(["unused"]), str(tmp_path / "in"), str(tmp_path / "out"))
