"""Clean + filter: text normalisation, each quality filter on both sides of its limit, token counts
with a real tokenizer, the removed table, and counts that add up in total and per source."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tunepipe import artifacts
from tunepipe.config import DEFAULT_BOILERPLATE, CleanConfig, Config
from tunepipe.data_quality import filters
from tunepipe.data_quality.clean import clean_records
from tunepipe.data_quality.common import REMOVED_COLUMNS
from tunepipe.errors import TunepipeError

ANSWER = "Hi Ada, open Billing > Invoices. — Northwind Support"
QUESTION = "Where is my invoice? I need it for the June payment run."
LOOP = "I am sorry but I cannot help you with that request today. "
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
LONG_PROMPT = " ".join(f"{a}{b}" for a in WORDS for b in WORDS[:6])
BOILERPLATE = [re.compile(p) for p in DEFAULT_BOILERPLATE]

# record_id -> (source, prompt, context, response, reason or None when kept)
ROWS = {
    "k1": ("a.jsonl", "<div><p>Hello&nbsp;team,</p><ul><li>Where is my <b>invoice</b>?</li></ul>"
           "<script>alert(1)</script><style>p {color: red}</style></div>", None, ANSWER, None),
    "k2": ("a.jsonl", "Is 3 < 5 and 7 > 2? Tom &amp; Jerry", None, ANSWER, None),
    "k3": ("a.jsonl", "Where is my invoice?\nSent from my iPhone\nTicket #4411", "   ", ANSWER, None),
    "k4": ("b.jsonl", QUESTION, "Invoices are listed under Billing.", ANSWER, None),
    "s1": ("a.jsonl", "<b></b>", None, ANSWER, "too_short"),
    "s2": ("a.jsonl", "x" * 3001, None, ANSWER, "too_long"),
    "t1": ("b.jsonl", QUESTION, None, "ok", "too_few_tokens"),
    "t2": ("b.jsonl", LONG_PROMPT, None, ANSWER, "too_many_tokens"),
    "r1": ("b.jsonl", QUESTION, None, "I can help.\nI can help.\nI can help.\nThanks", "repeated_lines"),
    "r2": ("b.jsonl", QUESTION, None, LOOP * 3, "repeated_ngrams"),
    "y1": ("b.jsonl", "$$$ €€€ ### deal", None, ANSWER, "symbol_ratio"),
    "l1": ("b.jsonl", "Wo ist meine Rechnung? Ich brauche sie für die Zahlung im Juni.", None, ANSWER, "language"),
}
CLEAN = {"min_chars": 2, "max_chars": 3000, "min_tokens": 3, "max_tokens": 200, "languages": ["en"],
         "boilerplate_patterns": DEFAULT_BOILERPLATE + [r"^Ticket #\d+$"]}


def make_config(tmp, base: str, **clean) -> Config:
    return Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp / "project")},
                                  "model": {"base": base}, "clean": clean})


def write_records(path, rows: dict) -> str:
    path.mkdir(parents=True)
    pd.DataFrame([
        {"record_id": rid, "source": src, "source_line": i, "shape": "prompt_completion",
         "prompt": p, "context": c, "response": r}
        for i, (rid, (src, p, c, r, _)) in enumerate(rows.items(), 1)
    ]).to_parquet(path / "part-0.parquet")
    return str(path)


@pytest.fixture(scope="module")
def tiny_base(tiny_model_dir) -> str:
    """The tiny model of conftest (tunepipe.training.tiny): its tokenizer counts the tokens."""
    return str(tiny_model_dir)


@pytest.fixture(scope="module")
def cleaned(spark, tmp_path_factory, tiny_base):
    tmp = tmp_path_factory.mktemp("clean")
    cfg = make_config(tmp, tiny_base, **CLEAN)
    summary = clean_records(cfg, write_records(tmp / "in", ROWS), str(tmp / "out"), str(tmp / "removed"))
    out = artifacts.read_parquet_dir(tmp / "out").set_index("record_id")
    removed = artifacts.read_parquet_dir(tmp / "removed").set_index("record_id")
    return summary, out, removed, tmp


def limits(**overrides) -> CleanConfig:
    return CleanConfig(**{"min_tokens": 2, "max_tokens": 100, "languages": ["en"], **overrides})


def record(prompt=QUESTION, context=None, response=ANSWER, prompt_tokens=10, response_tokens=10) -> dict:
    return {"prompt": prompt, "context": context, "response": response,
            "prompt_tokens": prompt_tokens, "response_tokens": response_tokens}


# --- normalisation --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, clean", [
    ("<div><p>Hello&nbsp;team,</p><ul><li>Where is my <b>invoice</b>?<ul><li>June</li></ul></li></ul></div>",
     "Hello team,\n\n• Where is my invoice?\n• June"),
    ("<p>Hi</p><script>var a = '<p>x</p>';</script><style>p {color: red}</style><!-- note --><p>there</p>",
     "Hi\n\nthere"),
    ("<p>Caf&eacute; &#8364;5 &amp; more</p>", "Café €5 & more"),
    ("a<br>b<br/>\nc", "a\nb\nc"),
    ("<html><head><title>T</title></head><body>502 Bad Gateway</body></html>", "502 Bad Gateway"),
    ("Is 3 < 5 and 7 > 2? Use <b> for bold, x<y.", "Is 3 < 5 and 7 > 2? Use <b> for bold, x<y."),
    ("Tom &amp; Jerry &lt;b&gt;", "Tom & Jerry <b>"),
    ("Ｗｈｅｒｅ is my\u00a0invoice\u200b?\x07", "Where is my invoice?"),
    ("  Line one\r\nLine two  \t with\ttabs\n\n\n\nEnd  ", "Line one\nLine two with tabs\n\nEnd"),
    ("Where is it?\nSent from my iPhone\n\nThis email is confidential and intended only for you.",
     "Where is it?"),
    ("To unsubscribe from this list, reply STOP.", ""),
])
def test_normalise_text(raw, clean):
    assert filters.normalise_text(raw, True, BOILERPLATE) == clean


def test_markup_is_kept_when_strip_html_is_off():
    assert filters.normalise_text("<p>keep &amp; this</p>", strip_html=False) == "<p>keep &amp; this</p>"


def test_boilerplate_patterns_match_whole_lines_only():
    assert filters.normalise_text("Please click here to open the invoice.", True, BOILERPLATE) == \
        "Please click here to open the invoice."
    assert filters.normalise_text("Question?\nClick here to view it in a browser", True, BOILERPLATE) == "Question?"


def test_cleaned_text_in_the_output(cleaned):
    _, out, _, _ = cleaned
    assert out.loc["k1", "prompt"] == "Hello team,\n\n• Where is my invoice?"
    assert out.loc["k2", "prompt"] == "Is 3 < 5 and 7 > 2? Tom & Jerry"
    assert out.loc["k3", "prompt"] == "Where is my invoice?"
    assert pd.isna(out.loc["k3", "context"])
    assert out.loc["k4", "context"] == "Invoices are listed under Billing."


# --- measures and filters, each on both sides of its limit -----------------------------------------

def test_repeated_line_fraction():
    assert filters.repeated_line_fraction("a\na\nb\n\nc") == 0.25
    assert filters.repeated_line_fraction("a\nb") == 0.0


def test_repeated_ngram_fraction_counts_repeats_not_first_occurrences():
    sentence = "one two three four five six seven eight nine ten"
    assert filters.repeated_ngram_fraction(f"{sentence} {sentence}") == pytest.approx(0.5)
    assert filters.repeated_ngram_fraction(f"{sentence}, eleven! {sentence}.") > 0.4
    assert filters.repeated_ngram_fraction("Reply to ada@x.org, and ada@x.org") == 0.0


def test_symbol_word_ratio():
    assert filters.symbol_word_ratio("a > b") == 0.5
    assert filters.symbol_word_ratio("Wait... #1 $5 ©") == pytest.approx(4 / 3)
    assert filters.symbol_word_ratio("") == 0.0


@pytest.mark.parametrize("rec, lim, reason", [
    (record(prompt="a"), limits(min_chars=2), "too_short"),
    (record(prompt="ab"), limits(min_chars=2), None),
    (record(response="a"), limits(min_chars=2), "too_short"),
    (record(prompt="p" * 20, context="c" * 20, response="r" * 20), limits(max_chars=59), "too_long"),
    (record(prompt="p" * 20, context="c" * 20, response="r" * 20), limits(max_chars=60), None),
    (record(prompt_tokens=1), limits(min_tokens=2), "too_few_tokens"),
    (record(response_tokens=1), limits(min_tokens=2), "too_few_tokens"),
    (record(prompt_tokens=2, response_tokens=2), limits(min_tokens=2), None),
    (record(prompt_tokens=60, response_tokens=41), limits(max_tokens=100), "too_many_tokens"),
    (record(prompt_tokens=60, response_tokens=40), limits(max_tokens=100), None),
    (record(prompt_tokens=5000, response_tokens=5000), limits(max_tokens=None), None),
    (record(response="a\na\nb\nc"), limits(max_repeated_line_fraction=0.2), "repeated_lines"),
    (record(response="a\na\nb\nc"), limits(max_repeated_line_fraction=0.25), None),
    (record(context=LOOP * 2), limits(max_repeated_ngram_fraction=0.36), "repeated_ngrams"),
    (record(context=LOOP * 2), limits(max_repeated_ngram_fraction=0.37), None),
    (record(prompt="a > b"), limits(max_symbol_word_ratio=0.4), "symbol_ratio"),
    (record(prompt="a > b"), limits(max_symbol_word_ratio=0.5), None),
    (record(response="Wo ist meine Rechnung? Ich brauche sie bald."), limits(), "language"),
    (record(response="Wo ist meine Rechnung? Ich brauche sie bald."), limits(languages=["en", "de"]), None),
    (record(response="Wo ist meine Rechnung? Ich brauche sie bald."), limits(languages=None), None),
    (record(response="Wo ist meine Rechnung?"), limits(min_language_chars=40), None),
])
def test_each_filter_on_both_sides_of_its_limit(rec, lim, reason):
    assert filters.verdict(rec, lim)[0] == reason


def test_detail_gives_field_value_and_limit():
    _, detail = filters.verdict(record(response="a\na\nb\nc"), limits(max_repeated_line_fraction=0.2))
    assert detail == ("response: 0.25 of lines repeat an earlier line > clean.max_repeated_line_fraction=0.2")
    _, detail = filters.verdict(record(prompt_tokens=1), limits(min_tokens=2))
    assert detail == "prompt_tokens=1 < clean.min_tokens=2"


def test_unsure_language_guesses_do_not_filter():
    sure = lambda text: ("de", 0.99)  # noqa: E731
    unsure = lambda text: ("pcm", 0.79)  # noqa: E731
    assert filters.verdict(record(), limits(), identify=sure)[0] == "language"
    assert filters.verdict(record(), limits(), identify=unsure)[0] is None


# --- the Spark stage --------------------------------------------------------------------------------

def test_each_row_gets_its_expected_reason(cleaned):
    _, out, removed, _ = cleaned
    assert set(out.index) == {rid for rid, row in ROWS.items() if row[4] is None}
    assert removed["reason"].to_dict() == {rid: row[4] for rid, row in ROWS.items() if row[4]}


def test_removed_table(cleaned):
    _, _, removed, tmp = cleaned
    assert list(removed.reset_index().columns) == REMOVED_COLUMNS
    assert set(removed["stage"]) == {"clean"}
    assert removed.loc["s2", "detail"] == "prompt+context+response has 3053 chars > clean.max_chars=3000"
    assert removed.loc["l1", "detail"].startswith("prompt: language de (p=")
    assert removed.loc["y1", "source"] == "b.jsonl" and removed.loc["y1", "source_line"] == 11
    assert removed.loc["s1", "prompt"] == ""
    assert artifacts.read_summary(tmp / "removed")["removed"] == len(removed)


def test_token_counts_equal_tokenizer_lengths(cleaned, tiny_base):
    from transformers import AutoTokenizer

    _, out, _, _ = cleaned
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    n = lambda text: 0 if pd.isna(text) else len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    for rid, row in out.iterrows():
        assert row["prompt_tokens"] == n(row["prompt"]) + n(row["context"]), rid
        assert row["response_tokens"] == n(row["response"]), rid
    assert out.loc["k4", "prompt_tokens"] > n(out.loc["k4", "prompt"]) > 0
    assert list(out.reset_index().columns) == [
        "record_id", "source", "source_line", "shape", "prompt", "context", "response",
        "prompt_tokens", "response_tokens",
    ]


def test_accounting_adds_up_in_total_and_per_source(cleaned):
    summary, out, removed, tmp = cleaned
    written = artifacts.read_summary(tmp / "out")
    assert "before PII redaction" in written.pop("sensitive")
    assert summary == written
    assert summary["input_rows"] == len(ROWS) == summary["kept"] + sum(summary["filtered"].values())
    assert summary["kept"] == len(out) and sum(summary["filtered"].values()) == len(removed)
    assert summary["filtered"] == {reason: 1 for *_, reason in ROWS.values() if reason}
    for src, counts in summary["per_source"].items():
        rows = [row for row in ROWS.values() if row[0] == src]
        assert counts["input_rows"] == len(rows) == counts["kept"] + sum(counts["filtered"].values())
        assert counts["filtered"] == {row[4]: 1 for row in rows if row[4]}


def test_smollm2_default_base_resolves_to_its_tokenizer(tmp_path, tiny_base):
    import shutil

    from tunepipe.data_quality.clean import tokenizer_dir
    from tunepipe.training.models import DONE_MARKER, SMOLLM2

    target = tmp_path / "project" / "models" / SMOLLM2
    shutil.copytree(tiny_base, target)
    (target / DONE_MARKER).write_text("done\n")
    cfg = make_config(tmp_path, SMOLLM2)
    assert cfg.model.base == Config.model_validate({"data": {"paths": ["x"]}}).model.base
    assert tokenizer_dir(cfg) == str(target)


# --- errors -------------------------------------------------------------------------------------------

def test_missing_input_dir_is_explained(tmp_path, tiny_base):
    with pytest.raises(TunepipeError, match="holds no Parquet files; run the previous stage first"):
        clean_records(make_config(tmp_path, tiny_base), str(tmp_path / "nothing"), str(tmp_path / "out"),
                      str(tmp_path / "removed"))


def test_nothing_left_names_the_filters_and_their_keys(spark, tmp_path, tiny_base):
    rows = {"a": ("s", "<br>", None, ANSWER, None), "b": ("s", QUESTION, None, "ok", None)}
    cfg = make_config(tmp_path, tiny_base, min_tokens=3)
    with pytest.raises(TunepipeError) as err:
        clean_records(cfg, write_records(tmp_path / "in", rows), str(tmp_path / "out"), str(tmp_path / "removed"))
    assert re.search(r"no records left after cleaning .*all 2 rows were filtered", str(err.value))
    assert "too_few_tokens (1): clean.min_tokens=3" in str(err.value)
    assert "too_short (1): clean.min_chars=2" in str(err.value)
    assert len(artifacts.read_parquet_dir(tmp_path / "removed")) == 2


def test_bad_boilerplate_pattern_is_named(tmp_path, tiny_base):
    cfg = make_config(tmp_path, tiny_base, boilerplate_patterns=["ok", "(unclosed"])
    with pytest.raises(TunepipeError, match=r"clean.boilerplate_patterns\[1\] '\(unclosed'"):
        clean_records(cfg, str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path / "removed"))


def test_unknown_language_code_is_named(tmp_path, tiny_base):
    cfg = make_config(tmp_path, tiny_base, languages=["en", "english"])
    with pytest.raises(TunepipeError, match=r"clean.languages has unknown code\(s\) \['english'\]"):
        clean_records(cfg, str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path / "removed"))


def test_a_base_without_tokenizer_is_explained(tmp_path):
    (tmp_path / "empty-model").mkdir()
    cfg = make_config(tmp_path, str(tmp_path / "empty-model"))
    with pytest.raises(TunepipeError, match="holds no tokenizer"):
        clean_records(cfg, str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path / "removed"))


def test_a_tokenizer_without_tokenizer_json_counts_the_same(tmp_path, tiny_base):
    import json

    import tokenizers

    tokenizers.Tokenizer.from_file(f"{tiny_base}/tokenizer.json").model.save(str(tmp_path))
    config = json.loads((Path(tiny_base) / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "GPT2Tokenizer"}))
    texts = [QUESTION, ANSWER, None, LONG_PROMPT]
    assert filters.token_counts(str(tmp_path), texts) == filters.token_counts(tiny_base, texts)
