"""Address blocks: multi-line and one-line postal addresses in many countries' layouts are one span, and
numbers that only look like parts of one (orders, versions, amounts, SKUs) are left alone."""

from __future__ import annotations

import pytest

from tunepipe.pii.addresses import AddressBlockRecognizer, classify
from tunepipe.pii.detect import PiiSettings, find_spans

ADDRESSES = {
    "german": ("Bitte an:\nFrau Anna Schmidt\n", "Lindenstraße 42\n10115 Berlin\nDeutschland", "\nDanke!"),
    "french": ("Adresse : ", "12, rue de la Paix\nBâtiment B\n75002 Paris\nFrance", "\nMerci"),
    "dutch": ("Stuur het naar ", "Keizersgracht 123\n1015 CJ Amsterdam", ", bedankt."),
    "dutch_floor": ("Het pand: ", "Dorpsstraat 246-hs\n1504 HO Groningen", "\nGetekend."),
    "french_ter": ("Envoyer à :\n", "71 ter, rue des Tanneurs\n33001 Bordeaux", "\nMerci"),
    "finnish_flat": ("Toimitus:\n", "Nordenskiöldinkatu 41 as 40\n00730 Kuhmo", "\nKiitos"),
    "japanese": ("送付先:\n", "〒100-0001\n東京都千代田区千代田1-1\n日本", "\nよろしく"),
    "japanese_latin": ("Ship to ", "1-1 Chiyoda, Chiyoda-ku\nTokyo 100-0001\nJapan", "\nthanks"),
    "brazilian": ("Entregar em:\n", "Rua Augusta, 1500, apto 42\nConsolação\n01310-100 São Paulo - SP\nBrasil", "\nObrigado"),
    "british": ("Post it to ", "Flat 3, 14 Baker Street\nLondon NW1 6XE\nUnited Kingdom", " please."),
    "irish": ("She lives at ", "38 McNaughton Street D02 X285 Dublin", "."),
    "polish": ("Adres: ", "ul. Marszałkowska 10/12\n00-950 Warszawa", ""),
    "swedish": ("", "Drottninggatan 5\n114 55 Stockholm", ""),
    "italian": ("Spedire a ", "Via Roma 10\n00184 Roma RM", "."),
    "spanish": ("Enviar a ", "Calle Mayor 5, 3º B\n28013 Madrid", ""),
    "portuguese": ("", "Avenida da Liberdade 110\n1250-146 Lisboa\nPortugal", ""),
    "canadian": ("", "100 Queen St W\nToronto ON M5H 2N2", ""),
    "australian": ("", "Unit 5, 20 Smith Street\nSydney NSW 2000\nAustralia", ""),
    "us_zip4": ("", "Apartment 4, 12 Main St.\nSpringfield, IL 62704-1234", ""),
    "one_line": ("We forwarded it to the lawyer, who lives at ", "36, avenue de Rémy, 41429 Lejeune", "."),
    "po_box": ("", "c/o Max Muster\nPostfach 1234\n80331 München", ""),
    "military": ("I'll meet you at ", "USCGC Barth\nFPO AP 59989", " after the concert."),
    "brazilian_one_line": ("Endereço: ", "Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200", ""),
    "house_letter": ("", "Storgatan 12 B, 411 38 Göteborg", ""),
    "austrian": ("", "Mariahilfer Straße 120/3/12\n1070 Wien\nÖsterreich", ""),
    "swiss": ("", "Rue du Rhône 48\nCH-1204 Genève", ""),
    "cedex": ("", "15 rue de Rivoli\n75004 Paris Cedex 04", ""),
    "irish_eircode": ("", "Apartment 5, The Oaks\nMain Street\nSwords, Co. Dublin\nK67 X2Y3\nIreland", ""),
    "japanese_room": ("", "Room 302, 2-3-1 Nishi-Shinjuku\nShinjuku-ku, Tokyo 163-8001\nJapan", ""),
    "swedish_floor": ("", "Kungsgatan 44, 3 tr\n111 35 Stockholm\nSverige", ""),
    "portuguese_floor": ("", "Rua do Ouro, 45, 2.º Esq.\n1100-060 Lisboa", ""),
    "postfach_groups": ("", "c/o Müller GmbH\nPostfach 10 20 30\n10115 Berlin", ""),
}


def locations(text: str) -> list[str]:
    """What the recognizer finds at or above the default threshold (a bare street needs a context word)."""
    found = AddressBlockRecognizer().analyze(text, ["LOCATION"])
    return [text[r.start:r.end] for r in found if r.score >= PiiSettings.default().score_threshold]


@pytest.mark.parametrize("kind", sorted(ADDRESSES))
def test_an_address_block_is_one_span_without_the_prose_around_it(kind):
    before, address, after = ADDRESSES[kind]
    assert locations(before + address + after) == [address]


@pytest.mark.parametrize("kind", ["german", "french", "dutch", "japanese", "brazilian"])
def test_the_detector_redacts_the_whole_multi_line_address(kind):
    before, address, after = ADDRESSES[kind]
    text = before + address + after
    start = len(before)
    spans = find_spans([text], PiiSettings.default())[0]
    covered = set().union(*(range(r.start, r.end) for r in spans))
    assert set(range(start, start + len(address))) <= covered


NOT_ADDRESSES = [
    "Order 12345 shipped, version 2.4.1, total 1,299.00 EUR, SKU 2717-2833-20, invoice 2024-0042.",
    "Upgrade to version 3 on 12 March, room 4, build 12345.",
    "We have 12 Users, 3 Teams, 5 Projects and 2019 Budget, 2020 Plans.",
    "During 2013 the team grew; since 2019 the 10:00 AM EST call moved.",
    "Florist\nRelease 5 Notes\nVersion 12345",
    "Ticket 4521, Order 67890, Case 1200 AB",
    "Price: 1299 EUR, qty 12, lot 2024-11",
    "Meet at Gate 12, Terminal 2, Heathrow.",
]


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_order_numbers_versions_amounts_and_skus_are_not_addresses(text):
    assert locations(text) == []
    assert [r for r in find_spans([text], PiiSettings.default())[0] if r.entity_type == "LOCATION"] == []


@pytest.mark.parametrize(("value", "kind"), [
    ("Lindenstraße 5", "street"), ("18, avenue Faure", "street"), ("C/ Arana 23", "street"),
    ("Kuusiku 7", "street"), ("Apt. 867", "unit"), ("PO Box 9", "unit"), ("84-281 Lębork", "postal"),
    ("Sandramouth, SA, 2920", "postal"), ("Estonia 80741", "country"), ("3155DH", "postcode"),
    ("Paso de Carrasco", "name"),
])
def test_parts_are_classed_on_their_own(value, kind):
    assert classify(value, 0, len(value), 0).kind == kind
