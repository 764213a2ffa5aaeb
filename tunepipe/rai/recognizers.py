"""Recognizers that Presidio's defaults lack, tuned on support-ticket text.

Presidio ships no street-address recognizer, its credit-card pattern misses Mastercard's 2-series,
its phone recognizer drops numbers that `phonenumbers` deems invalid (fictitious area codes,
`001-` prefixes) and spaCy's small model misses many names in greetings and signatures. Each
recognizer reports a standard entity type, so `pii.entities` still decides what is redacted.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

_NAME_WORD = r"[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?"
_NAME = rf"{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,2}}"
_NOT_A_NAME = r"(?!(?:There|Team|All|Everyone|Customer|Support|Sir|Madam|Folks|Guys|Again)\b)"
_GREETINGS = ("Hi", "Hello", "Hey", "Dear", "Thanks", "Thank you")
_CLOSINGS = (
    "Thanks", "Thank you", "Many thanks", "Regards", "Kind regards", "Best regards", "Best",
    "Cheers", "Sincerely", "Cordially", "Talk soon",
)
_STREET_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"terrace|way|parkway|pkwy|circle|cir|highway|hwy|square|sq)"
)


def street_address_recognizer():
    """US-style street addresses ("42 Elm Street", "1600 Pennsylvania Ave NW, Apt 5") as LOCATION."""
    pattern = (
        rf"\b\d{{1,6}}(?:[ ]+[A-Z][A-Za-z'.-]*){{1,4}}[ ]+{_STREET_SUFFIX}\b\.?"
        r"(?:[ ]+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
        r"(?:,?[ ]+(?i:apt|apartment|suite|ste|unit)\.?[ ]*#?\w+)?"
    )
    return PatternRecognizer(
        supported_entity="LOCATION",
        name="StreetAddressRecognizer",
        patterns=[Pattern("street_address", pattern, 0.6)],
        context=["address", "live", "ship", "deliver", "street"],
        global_regex_flags=re.MULTILINE,
    )


class SalutationNameRecognizer(LocalRecognizer):
    """Names right after a greeting ("Hi Amber,") or a closing ("Thanks!\\nDesiree Mays", "-- Tom Hill")."""

    SCORE = 0.6
    GREETING = re.compile(
        rf"\b(?:{'|'.join(_GREETINGS)})[ ]{_NOT_A_NAME}(?P<name>{_NAME})(?=[,!.]|[ \t]*$)", re.MULTILINE
    )
    SIGNATURE = re.compile(
        rf"(?:\b(?:{'|'.join(_CLOSINGS)})(?:[,!.]?[ \t]*\n[ \t]*|[,!][ \t]+|[ \t]+-[ \t]+)|^--[ \t]+)"
        rf"{_NOT_A_NAME}(?P<name>{_NAME})(?=[ \t]*$|[,(|<]|[ \t]+[-(|])",
        re.MULTILINE,
    )

    def __init__(self):
        super().__init__(supported_entities=["PERSON"], name="SalutationNameRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        spans = {m.span("name") for rx in (self.GREETING, self.SIGNATURE) for m in rx.finditer(text)}
        return [RecognizerResult("PERSON", start, end, self.SCORE) for start, end in sorted(spans)]


def loose_phone_recognizer():
    """North American, +CC and (0...) phone numbers, valid or not, with optional extension."""
    nanp = (
        r"(?<![\w+-])(?:\+1[-. ]?|001[-. ]?)?(?:\(\d{3}\)[-. ]?|\d{3}[-. ])\d{3}[-. ]\d{4}"
        r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?\b"
    )
    bare = r"(?<![\w+-])(?:\+1)?\d{10}(?:x\d{1,6})?\b"
    trunk_zero = r"(?<![\w+-])\+\d{1,3}[ ]?\(0\)[ ]?\d[\d ]{5,14}\d\b"
    international = r"(?<![\w+-])\+\d{2}[\d ]{8,13}\d\b"
    area_code = r"(?<![\w-])\(0\d{2,5}\)[ ]?\d[\d ]{4,10}\d\b"
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="LoosePhoneRecognizer",
        patterns=[
            Pattern("nanp", nanp, 0.5),
            Pattern("bare_10_digits", bare, 0.4),
            Pattern("trunk_zero", trunk_zero, 0.5),
            Pattern("international", international, 0.5),
            Pattern("area_code", area_code, 0.5),
        ],
        context=["phone", "call", "number", "mobile", "cell", "tel", "reach"],
        global_regex_flags=re.MULTILINE,
    )


def mastercard_2_series_recognizer():
    """Mastercard 2221-2720 numbers, Luhn-checked like Presidio's own credit-card recognizer."""
    pattern = r"\b2[2-7]\d{2}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b"
    return CreditCardRecognizer(
        patterns=[Pattern("mastercard_2_series", pattern, 0.3)], name="Mastercard2SeriesRecognizer"
    )


def extra_recognizers() -> list:
    return [
        street_address_recognizer(),
        SalutationNameRecognizer(),
        loose_phone_recognizer(),
        mastercard_2_series_recognizer(),
    ]
