"""Postal addresses as blocks: the lines (or comma-separated parts) of an address, in many countries' layouts.

A text is cut into parts at line breaks and commas (and after a unit such as "Apt. 5"), and each part
is classed on its own: a street (a house number before or after the street's name, or a street-type
word in one of a dozen languages: "Lindenstraße 5", "18, avenue Faure", "via Roma 3", "ul. Polna 28",
"Kloosterhof 167", "1449 Devenish St"), a unit ("Apt. 867", "Suite 5", "Flat 3", "c/o", "Postfach 12",
"PO Box 9"), a postcode line (a postcode of one of the formats below before or after the town:
"84-281 Lębork", "Sandramouth, SA, 2920", "Tokyo 100-0001", "DPO AE 33436"), a country line, or a
bare name that may be a town or district. A run of classed parts is an address when it holds a street
or unit and a postcode or country line and enough of them are unmistakable (a typed street, a unit,
a postcode in a country's own format, a country): the span covers the whole run, so an address
written over four lines is redacted as one. Prose before the first part ("send it to 12 Elm Road") and
after the last ("W1A 1AA, thanks") is cut off. The parts are matched with plain regular expressions;
the address language is not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽΑ-ΩА-Я"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_CAP = rf"(?:[{_UPPER}][\w'’.-]*|[{_CJK}]+)"
_CONNECTOR = (r"(?:de|del|della|delle|dei|di|da|do|dos|das|du|des|la|le|les|el|los|las|van|von|der|den|het|ter|"
              r"am|an|im|auf|sur|sous|en|y|e|i|the|of|and|und|et|u|upon|on)")
_ORDINAL = r"\d{1,4}(?:st|nd|rd|th|ª|º|e|er|ème|\.)"
_WORD = rf"(?:{_CAP}|{_ORDINAL}|{_CONNECTOR})"
_NAME = rf"{_CAP}(?:[ -]+{_WORD}){{0,5}}"
_NUMBER = (r"(?:(?:N[°º.o]|Nr\.?|No\.?|#)[ ]?)?\d{1,5}(?:[A-Za-z]|[ ][A-H](?![\w.]))?(?:[/-]\d{1,4}[A-Za-z]?){0,2}"
           r"(?:-(?:hs|h|huis|bg|I{1,3}|IV|boven|bis|ter)\b|[ ](?:bis|ter|quater)\b|[ ](?:as|lgh|bus|bte)[ ]\d{1,4}\b)?"
           r"(?:\.(?!\d))?"
           r"|(?i:s/n|sn)")

# Words that name a street's type before its name ("rue de la Paix", "ul. Polna", "C/ Mayor").
TYPE_BEFORE = """
rue avenue av avda boulevard bd bvd blvd chemin allée allee impasse quai route place cours voie sentier square rang
via viale vicolo piazza piazzale corso largo strada contrada borgo incrocio stretto lungomare vico
calle avenida camino carrer plaza paseo ronda travesía travesia callejón callejon carretera ctra glorieta
rua travessa praça praca alameda estrada rodovia largo beco ladeira quadra
ul ulica al aleja os osiedle plac pl ulice náměstí namesti třída
calea strada bulevardul aleea șoseaua soseaua drumul piața splaiul intrarea
""".split()
# Street-type endings glued to the name ("Lindenstraße", "Kloosterhof", "Storgatan").
TYPE_GLUED = """
straße strasse str weg gasse platz allee ring damm ufer steig pfad graben markt chaussee
laan straat plein gracht kade dijk singel steeg pad hof dreef
vej gade gatan vägen gata gränd torget veien vegen gate vei veg plass katu tie kuja polku utca
""".split()
# Street-type words after the name ("Olav Duuns gate", "Rákóczi út", "Elm Street", "Berliner Straße").
TYPE_AFTER = """
straße strasse str weg gasse platz allee ring damm laan straat plein gracht kade
street st road rd lane ln avenue ave drive dr close crescent cres way court ct place pl terrace tce
gardens gdns square sq parade pde row mews hill grove walk boulevard blvd highway hwy circuit cct
footway esplanade quay wharf green rise vale view loop trail parkway pkwy circle cir alley
""".split()
# Type words after the name that are written in lowercase ("Olav Duuns gate", "Rákóczi út").
TYPE_AFTER_LOWER = "gate gata gade vej vei veg katu tie utca út tér körút sor sokak caddesi sokağı bulvarı".split()
_TYPE_BEFORE = rf"(?:(?i:{'|'.join(sorted(TYPE_BEFORE, key=len, reverse=True))})\.?|C/)"
_TYPE_AFTER = rf"(?i:{'|'.join(sorted(TYPE_AFTER, key=len, reverse=True))})\.?"
_TYPE_AFTER_LOWER = rf"(?:{'|'.join(TYPE_AFTER_LOWER)})"
_TYPE_GLUED = rf"(?:{'|'.join(sorted(TYPE_GLUED, key=len, reverse=True))})\.?"
UNIT_WORDS = """
apt apartment suite ste unit flat studio floor fl room rm bldg building
piso planta puerta pta dto depto departamento oficina appartamento interno int scala piano
étage etage bâtiment batiment bât bat escalier bl sc ap et stiege tür top whg lok
postfach bp cp apdo apartado psc cmr box apto conj sala bloco lote
""".split()
_UNIT = (rf"(?:(?i:{'|'.join(sorted(UNIT_WORDS, key=len, reverse=True))})\.?[ ]*(?:#[ ]?)?\d[\w/-]*(?:[ ]\d+)*"
         rf"|(?i:{'|'.join(UNIT_WORDS)})\.?[ ]+[A-Z]\b"
         r"|\d{1,2}\.?[º°ª](?:[ ]?[A-Za-z]{1,4}\.?)?"
         r"|\d{1,2}[ ](?i:tr|trappor|vån|og|etg|stock)\.?(?![\w])"
         rf"|(?i:p\.?[ ]?o\.?[ ]?box|post office box|caixa postal)[ ]+\d[\d ]*"
         rf"|{_ORDINAL}[ ]+(?i:floor|étage|piso|stock|piano)"
         rf"|(?i:c/o)[ ]+{_NAME})")
POSTCODES = {
    "UK": r"[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}",
    "IE": r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ ]?[AC-FHKNPRTV-Y\d]{4}",
    "CA": r"[A-Z]\d[A-Z][ ]?\d[A-Z]\d",
    "NL": r"[1-9]\d{3}[ ]?(?!SA|SD|SS)[A-Z]{2}",
    "US": r"\d{5}-\d{4}",
    "BR": r"\d{5}-\d{3}|\d{8}",
    "PT": r"\d{4}-\d{3}",
    "JP": r"〒[ ]?\d{3}-?\d{4}|\d{3}-\d{4}",
    "PL": r"\d{2}-\d{3}",
    "SE": r"\d{3}[ ]\d{2}",
    "IN": r"\d{3}[ ]\d{3}|\d{6}",
    "DE": r"(?:[A-Z]{1,2}-)?\d{5}",
    "AT": r"(?:[A-Z]{1,2}-)?\d{4}",
}
# Formats that look like no other number: a postcode in one of them makes its line unmistakable.
DISTINCT = ("UK", "IE", "CA", "NL", "US", "BR", "PT", "JP", "PL", "SE")
_POSTCODE = POSTCODE = "|".join(f"(?:{p})" for p in POSTCODES.values())
_DISTINCT = "|".join(f"(?:{POSTCODES[k]})" for k in DISTINCT)
_REGION = r"(?:[A-Z]{2,3}|\([A-Z]{2}\)|[/-][ ]?[A-Z]{2})"
_TOWN = rf"{_NAME}(?:[ ]+(?i:cedex)(?:[ ]\d{{1,2}})?)?(?:[ ]\(.{{2,40}}?\))?(?:[ ]+{_REGION})?"
_MILITARY = re.compile(r"(?:APO|FPO|DPO)[ ]+(?:AA|AE|AP)[ ]+\d{5}")
_SHIP = re.compile(rf"(?:USNS|USNV|USS|USCGC)[ ]+{_NAME}")
# Words that are not towns although a number may follow them ("Order 12345", "Version 2").
NOT_PLACES = frozenset("""
order invoice ticket case ref reference version build release sku item room page line step error code account
id no number total amount qty quantity part model serial batch lot tracking shipment package parcel year
address adresse anschrift dirección direccion indirizzo endereço adres adress osoite
phone tel email e-mail mail fax mobile date birth name
since during about around approx circa over under between per each every only also than as
in on at by for from to until before after and or a an of is was are be year years day days
month months week weeks hour hours minute minutes version v rev chapter section table figure tab appendix
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
""".split())


@dataclass(frozen=True)
class Part:
    start: int
    end: int
    kind: str  # street, unit, postal, postcode, country, name
    weight: int
    line: int
    value: str


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """Country names in English and in the languages of Faker's address locales (lowercase; Faker is MIT)."""
    import importlib

    names = set()
    for locale in ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pt_PT", "pl_PL", "sv_SE",
                   "da_DK", "fi_FI", "cs_CZ", "hu_HU", "no_NO"):
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        names.update(c.lower() for c in getattr(provider, "countries", ()))
    names.update({"usa", "u.s.a.", "uk", "u.k.", "united states", "united kingdom", "great britain", "england",
                  "scotland", "wales", "northern ireland", "deutschland", "españa", "italia", "nederland",
                  "belgië", "belgique", "schweiz", "suisse", "svizzera", "österreich", "sverige", "norge",
                  "danmark", "suomi", "polska", "brasil", "portugal", "france", "éire", "ireland", "japan",
                  "nippon", "日本", "česko", "magyarország", "românia", "türkiye", "ελλάδα"})
    return frozenset(names)


_LOWER_WORDS = r"(?:[ ][^\W\d_]{2,}){1,2}"  # "Kapusova ulica 3b", "Zeleni dol 5a/3"
_STREET_PLAIN = re.compile(
    rf"(?:(?:{_NUMBER})[ ,]+){{0,2}}(?:{_TYPE_BEFORE}[ ]+(?:{_CONNECTOR}[ ]+)*)?(?:{_NAME}|\d{{1,4}}(?=[ ]+N))"
    rf"(?:[ ]+(?:{_TYPE_AFTER}|{_TYPE_AFTER_LOWER}))?(?:,?[ ]+(?:{_NUMBER}))?(?:,?[ ]+{_UNIT})*"
    rf"|{_CAP}{_LOWER_WORDS}[ ]+(?:{_NUMBER})(?:,?[ ]+{_UNIT})*")
_TYPE_NAMED = re.compile(rf"(?:^|[ ]|\d)(?:{_TYPE_BEFORE})(?:[ ]|$)|[^\W\d_](?i:{_TYPE_GLUED})(?:[ ,]|$)")
_TYPED = re.compile(rf"{_TYPE_NAMED.pattern}|[ ](?:{_TYPE_AFTER}|{_TYPE_AFTER_LOWER})(?:[ ,]|$)")
_CJK_STREET = re.compile(rf"(?:〒?[ ]?\d{{3}}-?\d{{4}}[ ]*)?[{_CJK}]+[{_CJK}\d０-９\-－ー]*\d[{_CJK}\d０-９\-－ー]*")
_PROSE_WORD = r"[^\W\d_][\w'’.-]*"
# A street with its type word and house number inside a sentence ("enter on Billeveien 122 St. the first").
_PROSE_STREET = re.compile(
    rf"(?<![\w.-])(?:(?:{_NUMBER})[ ]+{_TYPE_BEFORE}[ ]+(?:{_PROSE_WORD}[ ]+){{0,4}}?{_CAP}"
    rf"|{_TYPE_BEFORE}[ ]+(?:{_PROSE_WORD}[ ]+){{0,4}}?{_CAP},?[ ]+(?:{_NUMBER})"
    rf"|(?:{_CAP}[ ]+){{0,3}}[{_UPPER}][^\W\d_]*[^\W\d_](?i:{_TYPE_GLUED}),?[ ]+(?:{_NUMBER}))(?![\w-])")
_UNIT_RE = re.compile(rf"{_UNIT}(?:[ ]+{_UNIT})*")
_POSTAL_FIRST = re.compile(rf"(?:{_POSTCODE})(?:,?[ ]+{_TOWN}(?:,[ ]*{_TOWN})?)?")
_POSTAL_LAST = re.compile(rf"{_TOWN}(?:,?[ ]+{_REGION})?,?[ ]+(?:{_POSTCODE})")
_DISTINCT_RE = re.compile(rf"(?:^|[ ])(?:{_DISTINCT})(?:[ ,]|$)")
_NAME_RE = re.compile(rf"{_TOWN}")
_SPLIT = re.compile(r"[ \t]*(?:\n|,)[ \t]*")
_DECORATION = re.compile(r"[\s}>|*•·-]*")
_TRAILING = re.compile(r"[\s.?!;:]*$")
_CODE_START = re.compile(rf"(?<=[a-z.][ ])(?:{POSTCODES['UK']}|{POSTCODES['IE']}|{POSTCODES['CA']})(?=[ ,]|$)")
_UNIT_END = re.compile(rf"(?<![\w.-]){_UNIT}(?=[ ]+(?:[{_UPPER}]|\d+[A-Za-z]?[ ]+[^\W\d_]))")


class AddressBlockRecognizer(LocalRecognizer):
    """Postal addresses over one or more lines, in European, British, American, Brazilian and Japanese
    layouts, as LOCATION (see the module docstring)."""

    SCORE, STREET_SCORE, PLAIN_STREET_SCORE = 0.7, 0.5, 0.1
    MIN_WEIGHT = 3
    CONTEXT = ["address", "addresses", "lives", "live", "living", "moved", "ship", "shipping", "deliver", "delivery",
               "sent", "send", "mail", "post", "located", "adresse", "anschrift", "dirección", "indirizzo", "endereço",
               "adres"]

    def __init__(self):
        super().__init__(supported_entities=["LOCATION"], name="AddressBlockRecognizer", context=self.CONTEXT)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "LOCATION" not in entities or not any(ch.isdigit() for ch in text):
            return []
        found = [f for f in map(_accept, _blocks(_items(text))) if f]
        found += [(m.start(), m.end(), self.STREET_SCORE) for m in _PROSE_STREET.finditer(text)
                  if not _not_place(m.group()) and not any(s <= m.start() < e for s, e, _ in found)]
        return [RecognizerResult("LOCATION", start, end, score,
                                 analysis_explanation=AnalysisExplanation(self.name, score, textual_explanation="address"),
                                 recognition_metadata={"recognizer_name": self.name}) for start, end, score in found]


def _items(text: str) -> list:
    """Each piece of text as a Part, or ("open", Part) for a street ending prose or a postcode line starting
    it, or None; a blank line gives None."""
    items, line = [], 0
    for start, end, newline in _pieces(text):
        line += newline
        if newline and start == end:
            items.append(None)
            continue
        part = classify(text, start, end, line)
        if part is None:
            head, tail = _prefix_street(text, start, end, line), _suffix_postal(text, start, end, line)
            part = ("head", head) if head else ("tail", tail) if tail else None
        items.append(part)
    return items


def _blocks(items: list) -> list[list[Part]]:
    """Runs of consecutive parts: a "head" part only opens a run, a "tail" part only closes one."""
    blocks, block = [], []
    for item in [*items, None]:
        if item is None or (isinstance(item, tuple) and item[0] == "head"):
            blocks.append(block)
            block = [item[1]] if item else []
        elif isinstance(item, tuple):
            blocks.append([*block, item[1]])
            block = []
        else:
            block.append(item)
    return [b for b in blocks if b]


def _pieces(text: str):
    """(start, end, starts a new line) of each part: lines cut at commas and after a unit."""
    line_start = 0
    for line in text.split("\n"):
        first = True
        for s, e in _comma_parts(line):
            for us, ue in _after_units(line[s:e]):
                if line[s + us:s + ue].strip():
                    yield line_start + s + us, line_start + s + ue, first
                    first = False
        if first:
            yield line_start, line_start, True
        line_start += len(line) + 1


_PART = re.compile(r"[^,]+?(?=,|[ ]-[ ]|$)|(?<=,)(?=,|$)")
_HOUSE_ONLY = re.compile(rf"[ ]*(?:{_NUMBER})[ ]*")
_TYPE_START = re.compile(rf"[ ]*{_TYPE_BEFORE}[ ]")
_ENDS_NUMBER = re.compile(r"(?<![\w.,-])\d{1,4}[a-zA-Z]?$")
_ENDS_DIGIT = re.compile(r"\d[ ]*$")


def _comma_parts(line: str) -> list[tuple[int, int]]:
    """(start, end) of the parts of `line` between commas (or " - "), a bare house number kept with its
    street ("Viale Roma, 74", "18, avenue Faure") and a bare postcode with its town ("42034, Trinita")."""
    parts = [[m.start(), m.end()] for m in _PART.finditer(line)]
    merged = []
    for part in parts:
        previous = merged[-1] if merged else None
        if previous and _TYPE_START.match(line, part[0]) and _ENDS_NUMBER.search(line, *previous):
            previous[1] = part[1]
        elif previous and _HOUSE_ONLY.fullmatch(line, *part) and not _ENDS_DIGIT.search(line, *previous):
            previous[1] = part[1]
        elif previous and _HOUSE_ONLY.fullmatch(line, *previous):
            previous[1] = part[1]
        else:
            merged.append(part)
    return [tuple(p) for p in merged]


def _after_units(piece: str) -> list[tuple[int, int]]:
    """`piece` cut after each unit that a capitalised word or number follows ("Apt. 5 Springfield"), and
    before a British, Irish or Canadian postcode ("12 Elm Street SW1A 1AA London")."""
    cuts, last = [], 0
    for m in sorted([*_UNIT_END.finditer(piece), *_CODE_START.finditer(piece)], key=lambda m: m.start()):
        if m.start() < last:
            continue
        if m.start() > last:
            cuts.append((last, m.start()))
        if m.re is _CODE_START:
            last = m.start()
            continue
        cuts.append((m.start(), m.end()))
        last = m.end()
    cuts.append((last, len(piece)))
    return [(s, e) for s, e in cuts if piece[s:e].strip() or (s, e) == (0, len(piece))]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    start += _DECORATION.match(text, start, end).end() - start
    trailing = _TRAILING.search(text[start:end])
    end = start + trailing.start() if trailing else end
    while end > start and text[end - 1] == "." and not re.search(r"(?:\b[A-Za-z]{1,4}|\d)\.$", text[start:end]):
        end -= 1
    return start, end


def classify(text: str, start: int, end: int, line: int) -> Part | None:
    """The kind of address part `text[start:end]` is (its whole stripped extent), or None."""
    start, end = _trim(text, start, end)
    value = text[start:end]
    if not value or len(value) > 80:
        return None
    kind, weight = _kind(value)
    return Part(start, end, kind, weight, line, value) if kind else None


def _kind(value: str) -> tuple[str | None, int]:
    if _UNIT_RE.fullmatch(value) or _SHIP.fullmatch(value):
        return "unit", 2
    if _MILITARY.fullmatch(value) or _is_country_line(value):
        return ("postal" if value[:3] in ("APO", "FPO", "DPO") else "country"), 2
    street = _street(value)
    if street == 2:
        return "street", 2
    if _POSTAL_FIRST.fullmatch(value) or _POSTAL_LAST.fullmatch(value):
        return _postal(value)
    if street:
        return "street", 1
    if not any(ch.isdigit() for ch in value) and _NAME_RE.fullmatch(value) and len(value.split()) <= 6 \
            and not _not_place(value):
        return "name", 0
    return None, 0


def _street(value: str) -> int:
    """2 for a street with a type word, 1 for one with a house number, 0 for no street."""
    if _CJK_STREET.fullmatch(value):
        return 2
    if not _STREET_PLAIN.fullmatch(value) or _not_place(value):
        return 0
    if any(ch.isdigit() for ch in value):
        return 2 if _TYPED.search(value) else 1
    return 2 if _TYPE_NAMED.search(value) else 0


def _is_country_line(value: str) -> bool:
    """A country, alone or after a town and before a postcode ("Jõhvi, Estonia 80741" in part)."""
    words = re.sub(rf"[ ]+(?:{_POSTCODE})$", "", value).split()
    for k in (3, 2, 1):
        if len(words) >= k and " ".join(words[-k:]).lower() in countries():
            rest = " ".join(words[:-k])
            return not rest or bool(_NAME_RE.fullmatch(rest))
    return False


def _postal(value: str) -> tuple[str | None, int]:
    if _not_place(value):
        return None, 0
    distinct = bool(_DISTINCT_RE.search(value))
    town_first = not value[0].isdigit() and not value.startswith("〒")
    if re.fullmatch(_POSTCODE, value):
        return "postcode", 2 if distinct else 1
    return "postal", 2 if distinct or not town_first else 1


def _not_place(value: str) -> bool:
    """Starts with a word that is no place ("Order 12345"); a region code such as "NO" or "IN" is one."""
    words = re.findall(r"[^\W\d_]+", value)
    return bool(words) and words[0].lower() in NOT_PLACES and not (words[0].isupper() and len(words[0]) <= 3)


def _prefix_street(text: str, start: int, end: int, line: int) -> Part | None:
    """The street or unit that ends an unclassed piece ("... lives at 995 Harvey Street")."""
    for m in re.finditer(r"(?<![\w.:-])(?=[\w#〒])", text[start:end]):
        if end - (start + m.start()) > 80:
            continue
        part = classify(text, start + m.start(), end, line)
        if part and part.kind in ("street", "unit"):
            return part
    return None


def _suffix_postal(text: str, start: int, end: int, line: int) -> Part | None:
    """The postcode or country line that starts an unclassed piece ("W1A 1AA and thanks")."""
    cuts = [m.start() for m in re.finditer(r"(?<=\w)(?=[ .?!;:])", text[start:end])]
    for cut in reversed(cuts[:8]):
        part = classify(text, start, start + cut, line)
        if part and part.kind in ("postal", "postcode", "country"):
            return part
    return None


def _accept(members: list[Part]) -> tuple[int, int, float] | None:
    """(start, end, score) of the address in a run of consecutive parts, or None when the run is not one.

    A street or unit and a postcode or country line after it make an address when their weights add up
    to MIN_WEIGHT (or one less over two lines or more); a street with a unit, or a typed street with a
    house number, alone make a less certain one; a bare "name number" street counts only next to a
    context word ("address", "lives", "ship").
    """
    anchor = [k for k, m in enumerate(members) if m.kind in ("street", "unit")]
    closing = [k for k, m in enumerate(members) if m.kind in ("postal", "postcode", "country")]
    if anchor and closing and anchor[0] < closing[-1]:
        first, last = anchor[0], closing[-1]
        if first > 0 and members[first - 1].kind in ("postal", "postcode"):
            first -= 1
        if last + 1 < len(members) and _trailing_town(members[last], members[last + 1]):
            last += 1
        chosen = members[first:last + 1]
        weight = sum(m.weight or (0 < k < len(chosen) - 1) for k, m in enumerate(chosen))
        lines = len({m.line for m in chosen})
        if weight >= AddressBlockRecognizer.MIN_WEIGHT or (lines >= 2 and weight >= AddressBlockRecognizer.MIN_WEIGHT - 1):
            return chosen[0].start, chosen[-1].end, AddressBlockRecognizer.SCORE
    return _street_only(members, anchor)


def _trailing_town(closing: Part, part: Part) -> bool:
    """A town after a bare postcode ("1491 SW\nKlijndijk"), or a region after a town on its line."""
    townlike = part.kind == "name" or (part.kind == "street" and not any(ch.isdigit() for ch in part.value))
    return townlike and (closing.kind == "postcode" or (closing.kind == "postal" and closing.line == part.line))


def _street_only(members: list[Part], anchor: list[int]) -> tuple[int, int, float] | None:
    streets = [members[k] for k in anchor]
    if not streets or not any(ch.isdigit() for m in streets for ch in m.value):
        return None
    kinds = {m.kind for m in streets}
    if kinds == {"street", "unit"}:
        return streets[0].start, streets[-1].end, AddressBlockRecognizer.SCORE
    numbered = [m for m in streets if m.kind == "street" and any(ch.isdigit() for ch in m.value)]
    if not numbered:
        return None
    typed = [m for m in numbered if m.weight == 2]
    if typed:
        return typed[0].start, typed[0].end, AddressBlockRecognizer.STREET_SCORE
    return numbered[0].start, numbered[0].end, AddressBlockRecognizer.PLAIN_STREET_SCORE
