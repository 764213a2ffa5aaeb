"""Row accounting from stage summaries: per source and in total, and an imbalance is an error."""

from __future__ import annotations

import pytest

from tunepipe.data_quality.accounting import accounting, check_balanced
from tunepipe.errors import TunepipeError

INGEST = {"per_source": {
    "a.jsonl": {"input_rows": 10, "valid_rows": 8, "quarantined": 2, "quarantine_reasons": {"malformed_json": 2}},
    "b.csv": {"input_rows": 5, "valid_rows": 5, "quarantined": 0, "quarantine_reasons": {}},
}}
CLEAN = {"per_source": {
    "a.jsonl": {"input_rows": 8, "kept": 7, "filtered": {"too_short": 1}},
    "b.csv": {"input_rows": 5, "kept": 4, "filtered": {"language": 1}},
}}
DEDUP = {"per_source": {
    "a.jsonl": {"input_rows": 7, "kept": 5, "exact_duplicates": 1, "near_duplicates": 1},
    "b.csv": {"input_rows": 4, "kept": 4, "exact_duplicates": 0, "near_duplicates": 0},
}}


def test_every_row_is_in_one_bucket_per_source_and_in_total():
    report = accounting(INGEST, CLEAN, DEDUP)
    a, total = report["per_source"]["a.jsonl"], report["total"]
    assert (a["input"], a["quarantined"], a["filtered"], a["exact_duplicates"], a["near_duplicates"], a["kept"]) == (
        10, 2, 1, 1, 1, 5)
    assert a["balanced"] and report["per_source"]["b.csv"]["balanced"]
    assert total["input"] == 15 and total["kept"] == 9 and total["balanced"]
    assert total["filter_reasons"] == {"language": 1, "too_short": 1}
    assert total["quarantine_reasons"] == {"malformed_json": 2}
    check_balanced(report)


def test_a_lost_row_is_reported_as_a_bug_with_the_source():
    dedup = {"per_source": {**DEDUP["per_source"], "b.csv": {"kept": 3, "exact_duplicates": 0}}}
    report = accounting(INGEST, CLEAN, dedup)
    assert not report["total"]["balanced"]
    with pytest.raises(TunepipeError, match=r"b\.csv: input 5 but 4 accounted for"):
        check_balanced(report)
