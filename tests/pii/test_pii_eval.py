"""PII scoring and the development files (dev; dev2 and dev3: the former test splits 1 and 2, each tuned
on after it was scored once): tuning guards; the frozen test split 3 (tests/pii/data/pii_test3.json) is
scored by benchmarks/pii.py --split test, once per round, and rule code names no labelled file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tests.pii import devset, testsplit, testsplit3
from tunepipe.cli import app
from tunepipe.pii import evalset

ROOT = Path(__file__).resolve().parents[2]
# dev2's score after the issue-17 round (direct 0.960, char precision 0.970) minus a margin for
# Faker/spaCy version drift: a floor that catches a regression.
DEV2_FLOOR = {"direct_identifiers": 0.93, "char_precision": 0.90}
# dev3: test split 2 (written blind with mimesis), scored once on 2026-12-04 at direct identifiers 0.834,
# char precision 0.901, then tuned on: 0.946 / 0.907 after the structure recognizer. Its hash still pins it.
TEST_SPLIT_SHA256 = "8416e86a1835a1185f0f734a30401f694fbe4ce4573757564e1f0032693836d6"
DEV3_FLOOR = {"direct_identifiers": 0.92, "char_precision": 0.88}
# The third test split (presidio-evaluator's generator, Presidio's JSON format), frozen at this hash
# before the round that it scores began, scored once on 2026-12-05: direct identifiers 0.754, char
# precision 0.976. The floor below catches a regression; it is not tuned to.
TEST3_SHA256 = "2d7937774f9a518f24bfc41cbb81bfe5e44f2d40ba2ee91c57e925a4a7169bfd"
TEST3_FLOOR = {"direct_identifiers": 0.72, "char_precision": 0.95}


@pytest.fixture(scope="module")
def dev() -> list[dict]:
    return evalset.load(devset.DEV_SET)


@pytest.fixture(scope="module")
def dev2() -> list[dict]:
    return evalset.load(testsplit.DEV2)


def span(start: int, end: int, entity_type: str = "X") -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, entity_type=entity_type)


def test_the_committed_dev_set_is_what_the_seeded_generator_writes(dev):
    assert devset.generate() == dev
    assert {r["split"] for r in dev} == {"dev", "heldout", "fresh", "unseen", "intl"}


def test_dev2_is_kept_as_written_and_generated_apart_from_the_dev_templates(dev, dev2):
    assert {r["split"] for r in dev2} == {"test"} and len(dev2) >= 600
    assert {r["source"] for r in dev2} == {"presidio-evaluator", "documents"}
    dev_templates = {t.split("{")[0] for t in (*devset.TEMPLATES, *devset.UNSEEN_TEMPLATES) if len(t.split("{")[0]) > 20}
    assert not [r for r in dev2 if any(r["text"].startswith(t) for t in dev_templates)]
    for records in (dev, dev2):
        for r in records:
            for s in r["spans"]:
                value = r["text"][s["start"]:s["end"]]
                assert value and value.strip() == value, (r["id"], s)


def test_dev3_is_frozen_and_made_apart_from_both_other_dev_files(dev, dev2):
    import hashlib

    assert hashlib.sha256(testsplit.TEST_SPLIT.read_bytes()).hexdigest() == TEST_SPLIT_SHA256, \
        "the frozen test split changed: a new test split is a new file, scored once"
    test = evalset.load(testsplit.TEST_SPLIT)
    assert {r["split"] for r in test} == {"test2"} and len(test) >= 800
    assert {r["source"] for r in test} == {"mimesis", "template"}
    seen = {r["text"] for r in (*dev, *dev2)}
    assert not [r for r in test if r["text"] in seen]
    for r in test:
        for s in r["spans"]:
            value = r["text"][s["start"]:s["end"]]
            assert value and value.strip() == value, (r["id"], s)


def test_the_third_test_split_is_frozen_and_reads_as_presidio_json():
    import hashlib

    assert hashlib.sha256(testsplit3.OUT.read_bytes()).hexdigest() == TEST3_SHA256, \
        "the frozen test split 3 changed: a new test split is a new file, scored once"
    test = evalset.load(testsplit3.OUT, "presidio")
    assert len(test) == testsplit3.RECORDS and {r["split"] for r in test} == {"test3"}
    assert all(0 <= s["start"] < s["end"] <= len(r["text"]) for r in test for s in r["spans"])


def test_rule_code_names_no_labelled_file():
    names = (testsplit.OUT.name, testsplit.TEST_SPLIT.name, testsplit3.OUT.name, "pii_test")
    hits = [f"{p}: {n}" for p in (ROOT / "tunepipe").rglob("*") if p.suffix in (".py", ".yaml", ".json", ".txt")
            for n in names if n in p.read_text(encoding="utf-8", errors="ignore")]
    assert not hits
    assert "tests" not in Path(evalset.__file__).read_text(encoding="utf-8").split('"""', 2)[2]


def test_score_counts_cover_by_any_type_and_character_precision():
    records = [{"id": 0, "text": "Call Ann Lee at 555-0100 now", "spans": [
        {"start": 5, "end": 12, "label": "PERSON"}, {"start": 16, "end": 24, "label": "PHONE_NUMBER"}]}]
    result = evalset.score(records, [[span(5, 11, "LOCATION"), span(16, 28)]])
    assert result["recall"] == {"PERSON": 0.0, "PHONE_NUMBER": 1.0}
    assert result["char_precision"] == round(14 / 18, 4)
    assert result["direct_identifiers"]["recall"] == 0.5
    result = evalset.score(records, [[span(4, 12, "PERSON"), span(16, 24, "PHONE_NUMBER"), span(16, 24)]])
    assert result["recall"] == {"PERSON": 1.0, "PHONE_NUMBER": 1.0} and result["char_precision"] == round(15 / 16, 4)
    assert result["missed"] == [] and evalset.score(records, [[]])["char_precision"] == 1.0


def test_wilson_interval_brackets_the_estimate_and_narrows_with_n():
    lo, hi = evalset.wilson(90, 100)
    assert lo < 0.9 < hi and (hi - lo) > (lambda b: b[1] - b[0])(evalset.wilson(900, 1000))
    assert evalset.wilson(10, 10)[1] == 1.0 and evalset.wilson(0, 0) == [0.0, 1.0]


def test_detector_meets_targets_on_the_dev_set_as_a_tuning_guard(dev):
    overall = evalset.evaluate(dev, evalset.predict(dev))["all"]
    short = {label: r for label, r in overall["recall"].items()
             if label in evalset.DIRECT_IDENTIFIERS and r < evalset.TARGETS["recall"]}
    assert not short, (short, overall["missed"][:20])
    assert evalset.meets_targets(overall)


def test_detector_holds_its_floor_on_dev2(dev2):
    result = evalset.score(dev2, evalset.predict(dev2))
    assert result["direct_identifiers"]["recall"] >= DEV2_FLOOR["direct_identifiers"], result["recall"]
    assert result["char_precision"] >= DEV2_FLOOR["char_precision"]


def test_detector_holds_its_floor_on_dev3():
    dev3 = evalset.load(testsplit.TEST_SPLIT)
    result = evalset.score(dev3, evalset.predict(dev3))
    assert result["direct_identifiers"]["recall"] >= DEV3_FLOOR["direct_identifiers"], result["recall"]
    assert result["char_precision"] >= DEV3_FLOOR["char_precision"]


def test_detector_holds_its_floor_on_the_test_split():
    test = evalset.load(testsplit3.OUT, "presidio")
    result = evalset.score(test, evalset.predict(test))
    assert result["direct_identifiers"]["recall"] >= TEST3_FLOOR["direct_identifiers"], result["recall"]
    assert result["char_precision"] >= TEST3_FLOOR["char_precision"]


def write_both_formats(tmp_path: Path) -> tuple[Path, Path]:
    text = "Please call Maria Lopez on 212-555-0187 or mail maria.lopez@example.org."
    spans = [(12, 23, "PERSON"), (27, 39, "PHONE_NUMBER"), (48, 71, "EMAIL_ADDRESS")]
    presidio = tmp_path / "presidio.json"
    presidio.write_text(json.dumps([{"full_text": text, "spans": [
        {"entity_type": t, "entity_value": text[s:e], "start_position": s, "end_position": e} for s, e, t in spans]}]))
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"id": 0, "text": text, "spans": [{"start": s, "end": e, "label": t}
                                                                for s, e, t in spans]}) + "\n")
    return presidio, own


def test_pii_eval_cli_scores_presidio_and_tunepipe_formats_alike(tmp_path):
    presidio, own = write_both_formats(tmp_path)
    runner, reports = CliRunner(), []
    for path, fmt in ((presidio, "presidio"), (own, "tunepipe")):
        out = tmp_path / f"{fmt}.scores.json"
        result = runner.invoke(app, ["pii", "eval", str(path), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "PHONE_NUMBER" in result.output and "char precision" in result.output
        reports.append(json.loads(out.read_text())["tunepipe"]["all"])
    assert reports[0]["recall"] == reports[1]["recall"] == {"EMAIL_ADDRESS": 1.0, "PERSON": 1.0, "PHONE_NUMBER": 1.0}
    bad = runner.invoke(app, ["pii", "eval", str(own), "--format", "presidio"])
    assert bad.exit_code == 1 and "check --format" in bad.output


def test_set_builders_live_outside_the_runtime_package():
    code = "import tunepipe.pii.evalset as e, sys; print(any(m.startswith('faker') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout.strip() == "False"
    assert not hasattr(evalset, "generate")
