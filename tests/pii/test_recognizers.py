"""Names and phone numbers the recognizers find beyond spaCy and Presidio's defaults (lists, initials,
possessives, particles, chat speakers, national phone formats with context), and look-alikes they leave."""

from __future__ import annotations

import pytest

from tunepipe.pii.detect import PiiSettings, find_spans


def found(text: str, entity: str) -> list[str]:
    spans = sorted(find_spans([text], PiiSettings.default())[0], key=lambda r: r.start)
    return [text[r.start:r.end] for r in spans if r.entity_type == entity]


def covered(text: str, value: str) -> bool:
    """Every character of `value` (first occurrence in `text`) lies in some detected span."""
    start = text.index(value)
    spans = find_spans([text], PiiSettings.default())[0]
    hit = set().union(*(range(r.start, r.end) for r in spans))
    return set(range(start, start + len(value))) <= hit


@pytest.mark.parametrize(("text", "names"), [
    ("Pliant Therapeutics is the brainchild of our 3 founders: Kónya, Becker and Vasquez.",
     ["Kónya", "Becker", "Vasquez"]),
    ("Attendees were Erzsébet Kocsis and Roussel.", ["Erzsébet Kocsis", "Roussel"]),
    ("Signed by Ó Hailpín, Aida W. Nistor and Rose.", ["Ó Hailpín", "Aida W. Nistor"]),
])
def test_names_in_lists(text, names):
    assert all(covered(text, n) for n in names), found(text, "PERSON")


@pytest.mark.parametrize(("text", "name"), [
    ("We forwarded it to Persson's lawyer, who lives abroad.", "Persson"),
    ("As promised, here's Nikola's address.", "Nikola"),
])
def test_a_possessive_marks_a_name(text, name):
    assert name in found(text, "PERSON")


@pytest.mark.parametrize(("text", "name"), [
    ("In case of my child's account, we need to add Alexandra B Bradley as guardian.", "Alexandra B Bradley"),
    ("Bot: What's the name on the account? User: Petr D. Pavlíček", "Petr D. Pavlíček"),
    ("Full name: van de Weterink\nDate of birth: 1957-04-19", "van de Weterink"),
    ("The founders: Jarkko Immonen and Colman Ó Fearraigh.", "Colman Ó Fearraigh"),
    ("Blocked 85.36.28.254 after 40 failed logins by Lankle.", "Lankle"),
    ("Mit freundlichen Grüßen\n\nTrubin\nSachbearbeiter", "Trubin"),
    ("It may be that Rautiola wrote it first.", "Rautiola"),
    ("Thanks to O'Brien and McAllister for the help.", "O'Brien"),
])
def test_initials_particles_and_non_english_names(text, name):
    assert covered(text, name), found(text, "PERSON")


def test_chat_speakers_and_other_mentions_of_a_found_name():
    text = ("[10:02] Dobre: hey, what's the card you used?\n[10:03] Ó Gobáin: the old one\n"
            "Izaak had given Izaak his address.")
    names = found(text, "PERSON")
    assert {"Dobre", "Ó Gobáin"} <= set(names)
    assert covered("Hideo: \"Who are you?\"\nSophia: \"A friend.\"", "Hideo")


@pytest.mark.parametrize("text", [
    "Subject: renewal\nPhone: see below\nPrice: 1299 EUR\nNote: none",
    "The nightly sync to Salesforce and HubSpot fails with timeout 504.",
    "Apple's revenue grew; the Board's decision stands.",
    "Grant was approved. Kubernetes is great. Monday was busy.",
    "Adres: Prinsengracht 263-267\nTel: +31 20 555 0100\nSKU: 12-3456-789\nIndirizzo: Piazza del Duomo 1",
])
def test_field_labels_products_and_english_possessives_are_not_names(text):
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(("text", "phone"), [
    ("You can ring 0503 130 2764 any time.", "0503 130 2764"),
    ("They're not answering at 33 17 13", "33 17 13"),
    ("Mary Gavrilova\n031-755-778 office\n", "031-755-778"),
    ("You can ring +32(0)82-8393090 any time.", "+32(0)82-8393090"),
    ("ok, and your number? I'll ring you\n[10:04] Nakul Sur: 0235-53 89 75", "0235-53 89 75"),
    ("Call me on 60-56-85-91 tonight.", "60-56-85-91"),
    ("Mobile: 07700 063 966", "07700 063 966"),
    ("Phone the front desk at (99) 645-791.", "(99) 645-791"),
    ("tél : 01 23 45 67 89", "01 23 45 67 89"),
])
def test_national_phone_formats_with_a_phone_word(text, phone):
    assert phone in found(text, "PHONE_NUMBER")


@pytest.mark.parametrize("text", [
    "Call me after 3pm. Your order 56167567 shipped on 2026-10-27.",
    "Phone stays the same. SKU 9174-2454-46 is listed twice in the catalog.",
    "Cell is on file. Invoice INV-65700927 lists 3 licences instead of 30.",
    "Call the office about build 20267065.2; it fails at step 7 of 12.",
    "Version 2.4.1 costs 1,299.00 EUR; ring the bell at reception.",
])
def test_order_numbers_skus_versions_and_amounts_are_not_phones(text):
    assert found(text, "PHONE_NUMBER") == []
