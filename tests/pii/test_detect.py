"""PII detection with a real Presidio engine: settings from config, custom recognizers, thresholds,
allow lists, chunked long texts and odd input."""

from __future__ import annotations

import pickle

import pytest

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pii.detect import PiiSettings, check_settings, chunks, engines, find_spans, too_long

CUSTOM = [
    {"name": "employee_id", "entity": "EMPLOYEE_ID", "patterns": [r"\bEMP-\d{6}\b"], "context": ["employee"],
     "score": 0.3},
    {"name": "internal_hosts", "entity": "INTERNAL_HOST", "deny_list": ["build-01.corp.local", "jenkins-prod"]},
]


def with_pii(cfg: Config, **pii) -> Config:
    """`cfg` with `pii.*` keys replaced, validated like a config file."""
    return Config.model_validate({**cfg.model_dump(), "pii": {**cfg.pii.model_dump(), **pii}})


def found(text: str, settings: PiiSettings) -> list[tuple[str, str]]:
    spans = sorted(find_spans([text], settings)[0], key=lambda r: r.start)
    return [(r.entity_type, text[r.start:r.end]) for r in spans]


def test_settings_carry_the_config_and_are_small_hashable_and_picklable(cfg):
    cfg = with_pii(cfg, custom_recognizers=CUSTOM, thresholds={"PERSON": 0.7}, allow_list=["Northwind"])
    settings = PiiSettings.from_config(cfg)
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert len(pickle.dumps(settings)) < 2000
    assert settings.threshold("PERSON") == 0.7 and settings.threshold("EMAIL_ADDRESS") == cfg.pii.score_threshold
    assert settings.analysed_entities[-2:] == ["EMPLOYEE_ID", "INTERNAL_HOST"]
    assert settings.engine_key != PiiSettings.default().engine_key
    assert hash(settings) != hash(PiiSettings.default())


def test_custom_recognizers_from_config_use_context_words_and_deny_lists(cfg):
    cfg = with_pii(cfg, custom_recognizers=CUSTOM)
    settings = PiiSettings.from_config(cfg)
    check_settings(cfg)
    text = "Employee EMP-004211 cannot reach jenkins-prod or BUILD-01.corp.local. Ticket EMP-000001 is closed."
    assert found(text, settings) == [
        ("EMPLOYEE_ID", "EMP-004211"), ("INTERNAL_HOST", "jenkins-prod"), ("INTERNAL_HOST", "BUILD-01.corp.local"),
    ]
    batch, _ = engines(PiiSettings.default())
    assert batch is not engines(settings)[0]


def test_per_entity_thresholds_and_the_allow_list_filter_after_analysis(cfg):
    text = "Spoke with maria lopez and John Smith. Mail support@northwind.example."
    default = found(text, PiiSettings.from_config(cfg))
    assert ("PERSON", "maria lopez") in default and ("PERSON", "John Smith") in default
    cfg = with_pii(cfg, thresholds={"PERSON": 0.8}, allow_list=["support@northwind.example"])
    assert found(text, PiiSettings.from_config(cfg)) == [("PERSON", "John Smith")]


def test_check_settings_rejects_bad_patterns_and_thresholds_for_unknown_entities(cfg):
    broken = [{"name": "broken", "entity": "X", "patterns": ["(unclosed"]}]
    with pytest.raises(TunepipeError, match="broken.*not a valid regular expression"):
        check_settings(with_pii(cfg, custom_recognizers=broken))
    with pytest.raises(TunepipeError, match="PERSN"):
        check_settings(with_pii(cfg, thresholds={"PERSN": 0.9}))


def test_chunks_cut_on_whitespace_overlap_and_cover_the_text():
    text = " ".join(f"word{i}" for i in range(400))
    pieces = chunks(text, 300, 50)
    assert all(len(p) <= 300 for _, p in pieces)
    assert all(text[off:off + len(p)] == p for off, p in pieces)
    assert pieces[0][0] == 0 and pieces[-1][0] + len(pieces[-1][1]) == len(text)
    for (a, pa), (b, _) in zip(pieces, pieces[1:]):
        assert a < b <= a + len(pa) and text[a + len(pa)] == " " and text[b - 1] == " "
    solid = "x" * 1000
    assert [len(p) for _, p in chunks(solid, 300, 50)] == [300, 300, 300, 100]


def test_long_texts_are_chunked_and_spans_point_into_the_whole_text(cfg):
    cfg = with_pii(cfg, chunk_chars=400)
    settings = PiiSettings.from_config(cfg)
    filler = "The export to CSV fails again after the update. "
    emails = [f"user{i}.name@example.com" for i in range(30)]
    text = "".join(filler * (i % 3 + 1) + f"Reach me at {e} today. " for i, e in enumerate(emails))
    assert len(text) > 10 * cfg.pii.chunk_chars
    spans = [(t, v) for t, v in found(text, settings) if t == "EMAIL_ADDRESS"]
    assert [v for _, v in spans] == emails


def test_too_long_texts_are_not_analysed(cfg):
    cfg = with_pii(cfg, max_text_chars=1000)
    settings = PiiSettings.from_config(cfg)
    long_text = "john.smith@example.com " * 50
    assert too_long(long_text, settings) and not too_long(long_text[:900], settings) and not too_long(None, settings)
    assert find_spans([long_text, long_text[:900]], settings)[0] == []
    assert find_spans([long_text[:900]], settings)[0]


ODD = [
    None, 42, 3.5, b"bytes", "", "   \n\t", ["a list"],
    "\u202eRTL override\u202c and \u200fmarks\u200e only",
    "Family 👨\u200d👩\u200d👧 emoji 🎉🎉 and flags 🇩🇪",
    "客户张伟的电话是 138 0013 8000，邮箱 zhangwei@example.cn",
    "Der Kunde Jürgen Müller (juergen.mueller@example.de) bittet um Rückruf unter +49 30 1234567.",
    "مرحبا، بريدي الإلكتروني ahmed@example.com",
]


def test_odd_input_does_not_crash_and_offsets_stay_in_range(cfg):
    settings = PiiSettings.from_config(cfg)
    results = find_spans(ODD, settings)
    assert len(results) == len(ODD) and results[:7] == [[]] * 7
    for value, spans in zip(ODD[7:], results[7:]):
        assert all(0 <= r.start < r.end <= len(value) for r in spans)
    assert ("EMAIL_ADDRESS", "zhangwei@example.cn") in found(ODD[9], settings)
    assert ("EMAIL_ADDRESS", "juergen.mueller@example.de") in found(ODD[10], settings)


def test_invisible_characters_do_not_hide_pii_and_spans_cover_them(cfg):
    settings = PiiSettings.from_config(cfg)
    text = "Mail jo\u200bhn.sm\u2060ith@exam\u00adple.com or call 415-555-\u200d2671, J\u200fohn Smith"
    assert found(text, settings) == [
        ("EMAIL_ADDRESS", "jo\u200bhn.sm\u2060ith@exam\u00adple.com"),
        ("PHONE_NUMBER", "415-555-\u200d2671"),
        ("PERSON", "J\u200fohn Smith"),
    ]


@pytest.mark.parametrize("text", ["Phone the front desk in Leeds at 467 3395 please.",
                                  "Try 467 3395 mobile after six."])
def test_context_words_count_within_the_configured_window(text):
    """A short national number needs a phone word near it: 7 words before or 2 after count by default
    (pii.context_before 8, pii.context_after 2), not with Presidio's 5 before and none after."""
    phone = [v for e, v in found(text, PiiSettings.default()) if e == "PHONE_NUMBER"]
    narrow = [v for e, v in found(text, PiiSettings(context_window=(5, 0))) if e == "PHONE_NUMBER"]
    assert phone == ["467 3395"]
    assert narrow == []


def test_context_window_comes_from_config(cfg):
    settings = PiiSettings.from_config(with_pii(cfg, context_before=3, context_after=1))
    assert settings.context_window == (3, 1)
    assert settings.engine_key != PiiSettings.default().engine_key
