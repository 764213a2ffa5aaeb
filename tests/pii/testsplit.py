"""The second PII development file (dev2): documents generated differently from the templates of tests/pii/devset.py.

Written as the frozen test split v1 and scored once as a test split on 2026-12-04 (direct identifiers
0.799, PERSON 0.841, PHONE 0.856, STREET_ADDRESS 0.491, char precision 0.965); since then it has been
looked at and tuned on, so it is development data beside tests/pii/data/pii_eval.jsonl. The frozen test
split is now tests/pii/data/pii_test2.jsonl, written blind in another worktree (`benchmarks/pii.py
--split test` scores it, once, at the end of a tuning round).

Two sources, neither sharing a template with the dev set (tests/pii/devset.py):
- `presidio-evaluator` 0.3.2 (MIT, Microsoft): its PresidioSentenceFaker with its own 200-odd
  templates and FakeNameGenerator person records; not installed in the venv (it pins pandas>=3), so
  regenerating this part needs its wheel unpacked on PYTHONPATH:
      pip download --no-deps presidio-evaluator==0.3.2 -d /tmp/pe && unzip -q /tmp/pe/*.whl -d /tmp/pe
      PYTHONPATH=/tmp/pe .venv/bin/python tests/pii/testsplit.py
- `documents()` below: other document kinds (invoices, signature blocks, chat logs, forms, name lists),
  multi-line postal addresses in the formats of 16 Faker locales, national phone formats, 12-19 digit
  card numbers in sentences, names with middle initials, possessives and non-English names.

The file is kept as it was written (its path unchanged); rule code never names it
(tests/pii/test_pii_eval.py checks that tunepipe/ names no labelled file).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "pii_test.jsonl"
DEV2 = OUT
TEST_SPLIT = Path(__file__).resolve().parent / "data" / "pii_test2.jsonl"
SEED = 20261203
ADDRESS_LOCALES = ["en_GB", "en_IE", "en_AU", "en_CA", "de_DE", "de_AT", "de_CH", "fr_FR", "es_ES", "it_IT",
                   "nl_NL", "nl_BE", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "en_US"]
NAME_LOCALES = ["hu_HU", "pl_PL", "cs_CZ", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR",
                "sv_SE", "fi_FI", "tr_TR", "ro_RO", "en_IN", "en_US", "en_GB", "ga_IE"]
PHONE_FORMATS = ["##-##-##-##", "0#### ######", "(##) ###-###", "### ####", "0## ### ## ##", "+## ## ### ## ##",
                 "0### ### ####", "## ## ## ## ##", "(0##) ### ####", "+## (0)## #### ####"]
CARD_TYPES = ["maestro", "visa13", "visa16", "visa19", "amex", "discover", "jcb15", "jcb16", "diners", "mastercard"]


def _from_escaped(text: str, spans: list[dict]) -> tuple[str, list[dict]]:
    """presidio-evaluator templates hold a literal backslash-n for a line break: make it one character."""
    out, index, i = [], [], 0
    while i < len(text):
        index.append(len(out))
        if text.startswith("\\n", i):
            out.append("\n")
            index.append(len(out) - 1)
            i += 2
        else:
            out.append(text[i])
            i += 1
    index.append(len(out))
    text = "".join(out)
    fixed = []
    for s in spans:
        start, end = index[s["start"]], index[s["end"]]
        value = text[start:end]
        start += len(value) - len(value.lstrip())
        end -= len(value) - len(value.rstrip())
        if end > start:
            fixed.append({"start": start, "end": end, "label": s["label"]})
    return text, fixed


def presidio_evaluator_records(n: int, seed: int = SEED) -> list[dict]:
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed)
    records = []
    for sample in faker.generate_new_fake_sentences(n):
        spans = [{"start": s.start_position, "end": s.end_position, "label": s.entity_type} for s in sample.spans]
        text, spans = _from_escaped(sample.full_text, sorted(spans, key=lambda s: s["start"]))
        records.append({"source": "presidio-evaluator", "template": sample.template_id, "text": text, "spans": spans})
    return records


def _birth_date(person: str) -> str:
    """A date in 1940-2005 drawn from its own stream, seeded by the person's name (not the clock)."""
    return (date(1940, 1, 1) + timedelta(days=random.Random(person).randrange(24105))).isoformat()


class _Doc:
    """A document built piece by piece; `pii(value, label)` appends a labelled value."""

    def __init__(self):
        self.text, self.spans = "", []

    def add(self, text: str) -> "_Doc":
        self.text += text
        return self

    def pii(self, value: str, label: str) -> "_Doc":
        self.spans.append({"start": len(self.text), "end": len(self.text) + len(value), "label": label})
        self.text += value
        return self


class _Gen:
    def __init__(self, seed: int):
        from faker import Faker

        self.rng = random.Random(seed)
        locales = sorted(set(ADDRESS_LOCALES + NAME_LOCALES))
        self.f = {loc: Faker(loc) for loc in locales}
        for i, loc in enumerate(locales):
            self.f[loc].seed_instance(seed + i)

    def name(self) -> str:
        f, r = self.f[self.rng.choice(NAME_LOCALES)], self.rng.random()
        if r < 0.25:
            return f"{f.first_name()} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}. {f.last_name()}"
        if r < 0.4:
            return f.last_name()
        return f"{f.first_name()} {f.last_name()}"

    def address(self) -> str:
        loc = self.rng.choice(ADDRESS_LOCALES)
        return self.f[loc].address().strip()

    def phone(self) -> str:
        if self.rng.random() < 0.5:
            return self.f["en_US"].numerify(self.rng.choice(PHONE_FORMATS))
        return self.f[self.rng.choice(ADDRESS_LOCALES)].phone_number()

    def card(self) -> str:
        number = self.f["en_US"].credit_card_number(self.rng.choice(CARD_TYPES))
        if len(number) == 16 and self.rng.random() < 0.4:
            return " ".join(number[i:i + 4] for i in range(0, 16, 4))
        return number

    def email(self) -> str:
        return self.f[self.rng.choice(NAME_LOCALES)].free_email()

    def iban(self) -> str:
        return self.f[self.rng.choice(["de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "pl_PL", "pt_PT"])].iban()

    def invoice(self, d: _Doc):
        f = self.f["en_US"]
        d.add(f"INVOICE {f.numerify('2026-####')}\nBill to:\n").pii(self.name(), "PERSON").add("\n")
        d.pii(self.address(), "STREET_ADDRESS").add(f"\nAmount due: EUR {self.rng.randint(20, 9000)}.00\n")
        d.add("Pay to IBAN ").pii(self.iban(), "IBAN_CODE").add(" within 30 days.")

    def signature(self, d: _Doc):
        f = self.f[self.rng.choice(NAME_LOCALES)]
        d.add(self.rng.choice(["Kind regards", "Best wishes", "Mit freundlichen Grüßen", "Cordialement", "Thanks"]))
        d.add("\n\n").pii(self.name(), "PERSON").add(f"\n{f.job()}\n").pii(self.address(), "STREET_ADDRESS")
        d.add("\nTel ").pii(self.phone(), "PHONE_NUMBER").add(" | ").pii(self.email(), "EMAIL_ADDRESS")

    def chat(self, d: _Doc):
        a, b = self.name(), self.name()
        d.add("[10:02] ").pii(a, "PERSON").add(": hey, what's the card you used?\n[10:03] ").pii(b, "PERSON")
        d.add(": it was ").pii(self.card(), "CREDIT_CARD").add(", the old one\n[10:04] ").pii(a, "PERSON")
        d.add(": ok, and your number? I'll ring you\n[10:04] ").pii(b, "PERSON").add(": ").pii(self.phone(), "PHONE_NUMBER")

    def form(self, d: _Doc):
        f = self.f["en_US"]
        person = self.name()
        d.add("Full name: ").pii(person, "PERSON").add("\nDate of birth: ").add(_birth_date(person))
        d.add("\nAddress:\n").pii(self.address(), "STREET_ADDRESS").add("\nPhone: ").pii(self.phone(), "PHONE_NUMBER")
        d.add("\nSSN: ").pii(f.ssn(), "US_SSN").add("\nE-mail: ").pii(self.email(), "EMAIL_ADDRESS")

    def name_list(self, d: _Doc):
        names = [self.name() for _ in range(self.rng.randint(2, 4))]
        d.add(self.rng.choice(["The founders: ", "Attendees were ", "On the committee: ", "Signed by "]))
        for k, n in enumerate(names):
            d.add(", " if 0 < k < len(names) - 1 else " and " if k else "").pii(n, "PERSON")
        d.add(".")

    def possessive(self, d: _Doc):
        d.add("We forwarded it to ").pii(self.name(), "PERSON").add("'s lawyer, who lives at ")
        d.pii(self.address().replace("\n", ", "), "STREET_ADDRESS").add(".")

    def card_sentence(self, d: _Doc):
        d.add(self.rng.choice(["The charge on ", "Somebody used ", "Please block "])).pii(self.card(), "CREDIT_CARD")
        d.add(self.rng.choice([" yesterday.", " before Friday, it was stolen.", " and send a new one."]))

    def phone_sentence(self, d: _Doc):
        d.add(self.rng.choice(["You can ring ", "Her mobile is ", "Reach the site office on "]))
        d.pii(self.phone(), "PHONE_NUMBER").add(self.rng.choice([" any time.", " after six.", "."]))

    def ip_sentence(self, d: _Doc):
        f = self.f["en_US"]
        d.add("Blocked ").pii(f.ipv4(), "IP_ADDRESS").add(" after 40 failed logins by ").pii(self.name(), "PERSON").add(".")

    KINDS = ("invoice", "signature", "chat", "form", "name_list", "possessive", "card_sentence", "phone_sentence",
             "ip_sentence")


def documents(n: int, seed: int = SEED) -> list[dict]:
    """`n` documents of the kinds in `_Gen.KINDS`, round robin; seeded, independent of the clock."""
    g = _Gen(seed)
    records = []
    for i in range(n):
        kind = _Gen.KINDS[i % len(_Gen.KINDS)]
        d = _Doc()
        getattr(g, kind)(d)
        records.append({"source": "documents", "template": kind, "text": d.text, "spans": d.spans})
    return records


def main() -> int:
    records = presidio_evaluator_records(400) + documents(270)
    for i, r in enumerate(records):
        r.update(id=i, split="test")
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    print(f"wrote {len(records)} records to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
