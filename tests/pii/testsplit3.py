"""The third frozen PII test split, tests/pii/data/pii_test3.json, written by a generator nobody here wrote.

The documents come from presidio-evaluator's own sentence generator (`PresidioSentenceFaker`, MIT,
Microsoft's Presidio research package): its shipped templates, its FakeNameGenerator records of people
in many countries, its providers. Nobody on this project wrote or read those templates; the file was
generated and frozen before this round's rule changes, and its content was not looked at. It is in
Presidio's research JSON format (`full_text`, `spans` with `entity_type`, `start_position`,
`end_position`), so it is scored through `tunepipe pii eval FILE --format presidio` like a user's file.

Its labels are the generator's: PERSON, STREET_ADDRESS (street, building number, secondary address and
postcode pieces), PHONE_NUMBER, CREDIT_CARD, EMAIL_ADDRESS, IBAN_CODE, US_SSN, IP_ADDRESS, and
non-direct ones (GPE, DATE_TIME, ORGANIZATION, TITLE, NRP, AGE, ZIP_CODE, DOMAIN_NAME,
US_DRIVER_LICENSE) that count for character precision only.

The texts are the generator's output as it comes: 165 of the 1,500 hold the templates' literal
backslash-n ("\\n") where a line break was meant (testsplit.py turned those into line breaks for dev2;
this file does not), so multi-line addresses arrive on one line with "\\n" between their parts.

Scored once, 2026-12-05 (`benchmarks/pii.py --split test`, docs/benchmarks/pii_test.json): direct
identifiers plain Presidio 0.453 → tunepipe 0.754, char precision 0.959 → 0.976.

The public independent set the issue measures on is likely made by the same generator. So this split
must never be tuned on, even after it has been scored: it would tune to that set's templates.

Regenerate (a sample of the same kind: the package's sampling is seeded here but not fully
reproducible, so the file itself is what is frozen, by its hash in tests/pii/test_pii_eval.py):

    pip install --target /tmp/pe --no-deps presidio-evaluator==0.3.2
    PYTHONPATH=/tmp/pe .venv/bin/python tests/pii/testsplit3.py
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "pii_test3.json"
SEED = 20261204
RECORDS = 1500


def generate() -> list[dict]:
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    random.seed(SEED)
    np.random.seed(SEED)
    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=SEED)
    rows = []
    for i, sample in enumerate(faker.generate_new_fake_sentences(RECORDS)):
        spans = [{"entity_type": s.entity_type, "entity_value": s.entity_value,
                  "start_position": s.start_position, "end_position": s.end_position} for s in sample.spans]
        rows.append({"id": i, "split": "test3", "full_text": sample.full_text, "spans": spans})
    return rows


def main() -> None:
    rows = generate()
    OUT.write_text(json.dumps(rows, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    counts = Counter(s["entity_type"] for r in rows for s in r["spans"])
    print(f"wrote {len(rows)} records to {OUT}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))


if __name__ == "__main__":
    main()
