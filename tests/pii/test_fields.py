"""Personal data from a document's structure: table columns, form fields, cue lists and chat speakers,
through the real detector (spaCy, Presidio and every recognizer), and look-alikes that stay as they are."""

from __future__ import annotations

import pytest

from tunepipe.pii.detect import PiiSettings, find_spans
from tunepipe.pii.fields import entity_of, split_cells


def found(text: str) -> set[str]:
    return {text[r.start:r.end] for r in find_spans([text], PiiSettings.default())[0]}


def covered(text: str, value: str, after: str = "") -> bool:
    start = text.index(value, text.index(after) if after else 0)
    mask = [False] * len(text)
    for r in find_spans([text], PiiSettings.default())[0]:
        mask[r.start:r.end] = [True] * (r.end - r.start)
    return all(mask[start:start + len(value)])


@pytest.mark.parametrize("header, entity", [
    ("first_name", "PERSON"), ("lastName", "PERSON"), ("SURNAME", "PERSON"), ("Emergency contact", "PERSON"),
    ("cardholder", "PERSON"), ("Vorname", "PERSON"), ("customer_id", None), ("company_name", None),
    ("product name", None), ("username", None), ("phone", "PHONE_NUMBER"), ("Home phone", "PHONE_NUMBER"),
    ("ssn", "US_SSN"), ("street", "LOCATION"), ("Address", "LOCATION"), ("email address", "EMAIL_ADDRESS"),
    ("ip address", None), ("city", None), ("lifetime_value", None),
])
def test_headers_and_labels_name_the_entity_of_their_values(header, entity):
    assert entity_of(header) == entity


def test_quoted_csv_cells_keep_their_commas():
    line = 'C1,Fabio,"Plaza de Colón, 78, 50007 Zaragoza",ES'
    assert [line[s:e] for s, e in split_cells(line, ",")] == ["C1", "Fabio", "Plaza de Colón, 78, 50007 Zaragoza", "ES"]


def test_table_cells_under_person_phone_ssn_and_address_columns():
    text = ("emp_id\tlast_name\tfirst_name\tssn\tstreet\tgross_pay\n"
            "624327\tWest\tLeon\t145504503\t9 Glenbourne Parade\t8199.85\n"
            "737752\t晁\t璧宁\t479 92 9376\tTrözmüllergasse 68\t4188.62\n")
    for value in ("West", "Leon", "145504503", "9 Glenbourne Parade", "晁", "璧宁", "479 92 9376", "Trözmüllergasse 68"):
        assert covered(text, value), value
    assert not {"8199.85", "624327", "4188.62"} & found(text)


def test_markdown_and_fixed_width_tables():
    markdown = ("| # | Name | Organisation | Phone |\n|---|------|--------------|-------|\n"
                "| 1 | Fang He | Country Style Inc. | 06 30 034 3779 |\n")
    fixed = ("No.  Name                 Organisation        Phone\n"
             "1    Jakab Ruffínyi       Dreher Brewery      070-304 36 69\n"
             "2    Gro Foged            Bona AB             06.74.80.12.56\n")
    for text, values in ((markdown, ("Fang He", "06 30 034 3779")),
                         (fixed, ("Jakab Ruffínyi", "070-304 36 69", "Gro Foged", "06.74.80.12.56"))):
        for value in values:
            assert covered(text, value), value


def test_form_json_and_yaml_fields():
    form = ("SURNAME: ATENCIO\nFIRST NAME: GRACIA\nHome phone: 0161 228 9105   Cell: 748.387.7834\n"
            "Emergency contact: Leila Moradi - 07174 566076\nReason for visit: knee pain since March\n")
    for value in ("ATENCIO", "GRACIA", "0161 228 9105", "748.387.7834", "Leila Moradi"):
        assert covered(form, value), value
    assert not any("knee" in v for v in found(form))
    record = '{"id": 17, "full_name": "Kim Ji-woo", "phone": "+82 2 312 4567", "plan": "Premium"}'
    assert covered(record, "Kim Ji-woo") and covered(record, "+82 2 312 4567")
    assert "Premium" not in found(record)
    yaml = "customer:\n  name: Oluwaseun Adeyemi\n  tel: 0803 555 0199\n"
    assert covered(yaml, "Oluwaseun Adeyemi") and covered(yaml, "0803 555 0199")


def test_cue_lists_and_speakers_in_any_script_and_case():
    minutes = ("Attendees: 若菜 御剣 (chair); 藤次郎 中川; Emi Tanaka\nApologies: マヤ 別役\n\n"
               "2. 御剣 reported budget at 80% of plan.\nActions:\n- K. Daniel: book site visit\n- 中川: update risk log\n")
    for value in ("若菜 御剣", "藤次郎 中川", "Emi Tanaka", "マヤ 別役", "K. Daniel"):
        assert covered(minutes, value), value
    assert covered(minutes, "御剣", after="2. ")
    chat = "08:04 jan-willem: btw the meeting moved to 3\n08:06 holmfrith: ok\n08:10 jan-willem: ask holmfrith\n"
    assert covered(chat, "jan-willem") and covered(chat, "holmfrith", after="ask")


@pytest.mark.parametrize("text", [
    "sku\tproduct_name\tqty\tprice\nA-17\tWidget Pro 3000\t4\t19.99\nA-18\tCable Set\t2\t4.50\n",
    "Name: n/a\nStatus: open\nPhone: see above\n",
    "10:01 System: backup started\n10:05 System: backup finished\n",
    "We met on Tuesday, discussed budgets, and agreed, finally, to wait.\nIt rained, then stopped, then rained.\n",
    "region;quarter;revenue\nnorth;Q1;1200\nsouth;Q1;900\n",
])
def test_look_alikes_are_not_personal_data(text):
    assert found(text) == set(), found(text)
