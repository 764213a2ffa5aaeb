"""Recognizers that Presidio's defaults lack, tuned on support-ticket text and measured by `rai.pii_eval`.

Presidio ships no street-address or ZIP recognizer, its credit-card pattern misses Mastercard's
2-series and the 4-6-5 / 4-6-4 groupings of Amex and Diners numbers, its phone recognizer drops
numbers that `phonenumbers` deems invalid (fictitious area codes, `001-` prefixes, local European
formats), and spaCy's small model misses about a quarter of the names in tickets: names in greetings
and signatures, after "spoke with" or "assigned to", lowercase names, and names from outside the
English-speaking world. `NameRecognizer` finds those from cue phrases, the US Census first and last
name lists (the `names` package) and the spaCy model's own English lexicon. Each recognizer reports a
standard entity type (addresses and ZIP codes as LOCATION), so `pii.entities` still decides what is
redacted.
"""

from __future__ import annotations

import bisect
import importlib.resources
import re
from functools import lru_cache

import phonenumbers
from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer, PhoneRecognizer

from tunepipe.pii.addresses import POSTCODE, AddressBlockRecognizer
from tunepipe.pii.fields import FieldRecognizer

# USPS Publication 28, appendix C1: street suffixes and their standard abbreviations.
STREET_SUFFIXES = """
alley aly annex anx arcade arc avenue ave av bayou byu beach bch bend bnd bluffs? blfs? bottom btm
boulevard blvd branch br bridge brg brooks? brks? burgs? bgs? bypass byp camp cp canyon cyn cape cpe
causeway cswy centers? ctrs? circles? cirs? cliffs? clfs? club clb commons? cmns? corners? cors? course crse
courts? cts? coves? cvs? creek crk crescent cres crest crst crossing xing crossroads? xrds? curve curv dale
dl dam dm divide dv drives? drs? dr estates? ests? est expressway expy extensions? exts? ext falls? fls?
ferry fry fields? flds? fld flats? flts? flt fords? frds? frd forest frst forges? frgs? frg forks? frks?
frk fort ft freeway fwy gardens? gdns? gdn gateway gtwy glens? glns? gln greens? grns? grn groves? grvs?
grv harbors? hbrs? hbr haven hvn heights hts highway hwy hills? hls? hl hollow holw inlet inlt islands?
iss? is isle junctions? jcts? jct keys? kys? ky knolls? knls? knl lakes? lks? lk land landing lndg lane
ln lights? lgts? lgt loaf lf locks? lcks? lck lodge ldg loop mall manors? mnrs? mnr meadows? mdws? mdw
mews mills? mls? ml mission msn motorway mtwy mount mt mountains? mtns? mtn neck nck orchard orch oval
overpass opas parks? parkways? pkwys? pkwy pass passage psge path pike pines? pnes? pne place pl plains?
plns? pln plaza plz points? pts? pt ports? prts? prt prairie pr radial radl ramp ranch rnch rapids? rpds?
rpd rest rst ridges? rdgs? rdg river riv roads? rds? rd route rte row rue run shoals? shls? shl shores?
shrs? shr skyway skwy springs? spgs? spg spurs? square sq squares sqs station sta stravenue stra stream
strm streets? sts? st summit smt terrace ter throughway trwy trace trce track trak trafficway trfy trail
trl trailer trlr tunnel tunl turnpike tpke underpass upas unions? uns? un valleys? vlys? vly viaduct via
views? vws? vw villages? vlgs? vlg ville vl vista vis walks? wall way ways wells? wls? wl
""".split()
_SUFFIX = rf"(?i:{'|'.join(sorted(STREET_SUFFIXES, key=len, reverse=True))})"
_CAP_WORD = r"[A-Z][\w'’.-]*"
_STREET = (
    rf"(?<![\d:.,/-])\b\d{{1,6}}[A-Z]?(?:[ ]+{_CAP_WORD}){{1,4}}?[ ]+{_SUFFIX}\b\.?"
    r"(?:[ ]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
    r"(?:,?[ ]+(?i:apt|apartment|suite|ste|unit|fl|floor|rm|room|bldg|building)\.?[ ]*#?[\w-]+|[ ]+#[ ]?[\w-]+)?"
)
_CITY_LINE = rf"(?:{_CAP_WORD}[ ]){{0,3}}{_CAP_WORD},?[ ]+[A-Z]{{2}}[ ]+\d{{5}}(?:-\d{{4}})?\b"
_PO_BOX = r"\b(?i:p\.?[ ]?o\.?[ ]?box|post office box)[ ]+\d{1,6}\b"


def street_address_recognizer():
    """US street addresses ("42 Elm Street, Apt 5", "9 Oak Knolls\\nSpringfield, IL 62704") as LOCATION."""
    return PatternRecognizer(
        supported_entity="LOCATION",
        name="StreetAddressRecognizer",
        patterns=[
            Pattern("street_city_state_zip", rf"{_STREET}(?:,[ ]*|[ ]*\n[ ]*){_CITY_LINE}", 0.7),
            Pattern("street_address", _STREET, 0.6),
            Pattern("city_state_zip", rf"\b{_CITY_LINE}", 0.6),
            Pattern("po_box", _PO_BOX, 0.6),
        ],
        context=["address", "live", "ship", "deliver", "street", "mail"],
        global_regex_flags=re.MULTILINE,
    )


_W = r"[^\W\d_][\w'’.-]*"  # a word of letters (any script), then letters, digits, apostrophes, dots, hyphens
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_CAPW = rf"[{_UPPER}][\w'’.-]*"  # a capitalised word
_NAMEW = rf"[{_UPPER}][^\W\d_]*(?:[-'’][^\W\d_]+)*"  # a capitalised word of letters only
def zip_code_recognizer():
    """Postcodes in the formats of `addresses.POSTCODES` (US ZIP+4, UK, Canada, "840 24", "8741"...) but
    bare runs of 6 or 8 digits and years: too like other numbers alone, so they count only next to "zip",
    "postal" or "postcode"."""
    return PatternRecognizer(
        supported_entity="LOCATION",
        name="ZipCodeRecognizer",
        patterns=[Pattern("postcode", rf"(?<![\w-])(?!\d{{6}}|\d{{8}}|(?:19|20)\d\d\b)(?:{POSTCODE})(?![\w-])", 0.05)],
        context=["zip", "zipcode", "postal", "postcode", "plz", "cap", "cep", "eircode"],
        global_regex_flags=re.MULTILINE,
    )


PHONE_CONTEXT = [
    "phone", "call", "called", "number", "mobile", "cell", "tel", "telephone", "reach", "fax", "whatsapp",
    "contact", "line", "landline", "hotline", "dial", "tél", "fon", "ph", "mob", "mobil", "móvil", "cel", "celular",
    "telefone", "telefoon", "puhelin", "ring", "rang", "answering", "voicemail", "message", "messages",
    "text", "office", "numéro", "téléphone", "portable", "número", "teléfono", "telefon", "telefono", "handy", "sms",
]


def loose_phone_recognizer():
    """North American, +CC, (0...) and locally grouped phone numbers, valid or not, with extensions."""
    nanp = (
        r"(?<![\w+.-])(?:(?:\+1|001|1)[-. ]?)?(?:\(\d{3}\)[-. ]?|\d{3}[-. ])\d{3}[-. ]\d{4}"
        r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?\b"
    )
    bare = r"(?<![\w+-])(?:\+1)?\d{10}(?:x\d{1,6})?\b"
    trunk_zero = r"(?<![\w+-])\+\d{1,3}[ ]?\(0\)[ ]?\d[\d -]{5,14}\d\b"
    international = r"(?<![\w+-])\+\d{2}[\d -]{8,14}\d\b"
    area_code = r"(?<![\w-])\(0\d{2,5}\)[ -]?\d[\d -]{3,10}\d\b"
    trunk_prefix = r"(?<![\w+-])0\d{9,10}\b"
    local_grouped = r"(?<![\w+.-])0\d{1,4}[-/ ]\d{5,8}\b(?![-/.]\d)"
    grouped = r"(?<![\w+.-])(?!\d{4}-\d\d-\d\d\b)(?=(?:[ -]?\d){9,13}(?![ -]?\d))\d{1,5}(?:[ -]\d{2,8}){1,4}(?![\w-])"
    short_grouped = r"(?<![\w+.-])(?!\d{4}-\d\d-\d\d\b)(?:\(\d{1,4}\)[ ]?)?(?=(?:[ -]?\d){6,8}(?![ -.]?\d))\d{2,4}(?:[ -]\d{2,4}){1,3}(?![\w-])"
    parenthesised = r"(?<![\w-])\+?\(\+?\d{1,4}\)[ ]?\d[\d -]{5,13}\d\b"
    double_zero = r"(?<![\w+-])00\d{2,3}[ -]\d[\d -]{6,13}\d\b"
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="LoosePhoneRecognizer",
        patterns=[
            Pattern("nanp", nanp, 0.5),
            Pattern("bare_10_digits", bare, 0.4),
            Pattern("trunk_zero", trunk_zero, 0.5),
            Pattern("international", international, 0.5),
            Pattern("area_code", area_code, 0.5),
            Pattern("local_trunk_grouped", local_grouped, 0.4),
            Pattern("grouped_with_context", grouped, 0.1),
            Pattern("trunk_prefix_with_context", trunk_prefix, 0.1),
            Pattern("short_grouped_with_context", short_grouped, 0.1),
            Pattern("parenthesised_code", parenthesised, 0.45),
            Pattern("double_zero_international", double_zero, 0.45),
        ],
        context=PHONE_CONTEXT,
        global_regex_flags=re.MULTILINE,
    )


CARD_CONTEXT = ["card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "cc", "pan", "charge", "charged",
                "declined", "expiry", "cvv", "refund", "block"]
_CARD_DIGITS = r"(?<![\w.-])\d(?:[ -]?\d){11,18}(?![\w-]|[ -]\d)"


def long_card_recognizer():
    """Card numbers of 12-19 digits in any grouping, Luhn-checked like Presidio's (any issuer prefix)."""
    return CreditCardRecognizer(patterns=[Pattern("card_12_19_digits", _CARD_DIGITS, 0.3)], name="LongCardRecognizer")


def unchecked_card_recognizer():
    """With `pii.card_luhn: context`: 12-19 digit numbers without a valid checksum, when a card word is near."""
    return PatternRecognizer(supported_entity="CREDIT_CARD", name="UncheckedCardRecognizer",
                             patterns=[Pattern("card_digits_with_context", _CARD_DIGITS, 0.1)], context=CARD_CONTEXT)


def extra_card_recognizer():
    """Mastercard 2221-2720 numbers and Amex/Diners in 4-6-5 / 4-6-4 groups, Luhn-checked like Presidio's."""
    return CreditCardRecognizer(
        patterns=[
            Pattern("mastercard_2_series", r"\b2[2-7]\d{2}([- ]?)\d{4}\1\d{4}\1\d{4}\b", 0.3),
            Pattern("amex_diners_groups", r"\b3\d{3}([- ])\d{6}\1\d{4,5}\b", 0.3),
        ],
        name="ExtraCardRecognizer",
    )


# Cue phrases after which a name-like word is taken as a name (lowercase too).
NAME_CUES = [
    "my name is", "name is", "name", "this is", "i'm", "i’m", "i am", "called", "named",
    "mr", "mrs", "ms", "miss", "dr", "prof", "contact person", "contact", "customer", "client", "agent",
    "colleague", "manager", "account holder", "holder", "cardholder", "ship to", "bill to", "attn", "attention",
    "from", "to", "cc", "signed by", "approved by", "assigned to", "escalated by", "reported by", "handled by",
    "created by", "forwarded to", "spoke to", "spoke with", "speak to", "speak with", "talked to",
    "talked with", "call", "call with", "meeting with", "met with", "ask", "asked", "tell", "told",
    "hi", "hello", "hey", "dear", "thanks", "thank you", "regards", "best regards", "kind regards", "best",
    "cheers", "sincerely", "cordially", "thx", "remove", "add", "invite", "per", "met", "meet",
    "employee", "tenant", "beneficiary", "payee", "recipient", "owner", "caller", "sender", "requester",
    "applicant", "guest", "patient", "member", "student", "driver", "account name", "full name",
    "ich bin", "mein name ist", "herr", "frau", "kunde", "kundin", "je suis", "je m'appelle", "mme",
    "madame", "monsieur", "soy", "me llamo", "mi nombre es", "sr", "sra", "señor", "señora", "sono",
    "mi chiamo", "signor", "signora", "sou", "meu nome é", "by", "says", "said", "call me", "calls me",
    "named him", "named her", "my son", "my daughter", "my kid", "my child", "my wife", "my husband", "my partner",
    "mit freundlichen grüßen", "freundliche grüße", "viele grüße", "grüße", "cordialement", "bien à vous",
    "saludos", "atentamente", "cordiali saluti", "distinti saluti", "met vriendelijke groet", "groeten",
    "pozdrawiam", "s pozdravem", "üdvözlettel", "med vänlig hälsning", "mvh", "atenciosamente",
]
# Cues that are also common words: a single or lowercase word after them is a name only when the cue
# ends a line or a field ("Best,\n", "To: ").
# Weak cues after which one unusual capitalised word is a name ("failed logins by Schmitt.").
AGENT_CUES = {"by", "says", "said"}
WEAK_CUES = {"from", "to", "name", "add", "per", "best", "call", "called", "named", "customer", "client", "by", "says",
             "said"}
# Words that follow cues without being anyone's name: addressees ("Hi Team"), and the cue words
# themselves ("Dear Mr. Smith").
# Field labels of forms and signatures in several languages: never a speaker's or anyone's name.
FIELD_LABELS = set("""
adres adresse addresse anschrift indirizzo endereço dirección direccion morada osoite cím adresa adress
tel tél telefon telefoon teléfono telefone telefono puhelin fax mob mobil móvil cel celular handy mobile
sku iban bic swift ref re fwd betreff objet asunto oggetto assunto onderwerp datum fecha data ort ville ciudad
città cidade plz cp cap cep nip nif cif vat ust mwst tva iva ssn dob qty po nr id url www email e-mail
""".split())
NOT_NAMES = {
    "team", "support", "everyone", "everybody", "sir", "madam", "customers", "colleagues", "friend",
    "friends", "folks", "guys", "valued", "user", "users", "admin", "partner", "partners", "service", "sales",
    "billing", "community", "world", "advance", "i'm", "i’m", *(c for c in NAME_CUES if " " not in c),
    *FIELD_LABELS,
}
PARTICLES = {"van", "von", "de", "der", "den", "da", "das", "dos", "do", "del", "della", "di", "du", "le", "la",
             "zu", "ten", "ter", "bin", "ibn", "al", "el"}
INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""))


def _trim_digit_words(text: str, r) -> None:
    """Drop the words with digits at either end of a span ("C135722\tGregory" → "Gregory"): Presidio has
    already removed the names the span contained, so dropping it whole would lose them."""
    words = list(re.finditer(r"\S+", text[r.start:r.end]))
    while words and any(ch.isdigit() for ch in words[0].group()):
        words.pop(0)
    while words and any(ch.isdigit() for ch in words[-1].group()):
        words.pop()
    if words:
        r.start, r.end = r.start + words[0].start(), r.start + words[-1].end()


def _outside_addresses(results: list) -> list:
    """Without the names that lie inside an address block ("Rua Augusta" in "Rua Augusta 274, 1100-053 Lisboa")."""
    blocks = [(r.start, r.end) for r in results
              if (r.recognition_metadata or {}).get("recognizer_name") == "AddressBlockRecognizer"]
    return [r for r in results if r.entity_type != "PERSON" or not any(s <= r.start and r.end <= e for s, e in blocks)]


def _labelled_otherwise(text: str, r) -> bool:
    """A phone number or postcode right after a label for another kind of number ("Order 17963515")."""
    guessed = r.entity_type == "PHONE_NUMBER" or (r.recognition_metadata or {}).get("recognizer_name") == "ZipCodeRecognizer"
    return guessed and bool(OTHER_NUMBER_LABEL.search(text, max(0, r.start - 40), r.start))


OTHER_NUMBER_LABEL = re.compile(
    r"(?i)\b(?:order|invoice|inv|sku|build|ticket|case|ref|reference|tracking|version|item|part|serial|model|"
    r"batch|lot|po|account|acct|booking|reservation|confirmation|transaction|receipt)"
    r"[ \t#:.-]*(?:(?:no|nr|number|num|id)\b[ \t#:.]*)?$")
COMPANY_SUFFIX = re.compile(r"[ ,]*(?:&|and (?:Sons|Co)\b|(?i:inc|llc|ltd|plc|gmbh|corp|co|group|ag|sa|sarl|bv)\b)")


@lru_cache(maxsize=1)
def census_names() -> tuple[frozenset, dict]:
    """US Census 1990 first names, and last names with their frequency rank (from the `names` package)."""
    files = importlib.resources.files("names")

    def words(name: str) -> list[str]:
        return [line.split()[0].lower() for line in files.joinpath(name).read_text().splitlines() if line.strip()]

    first = frozenset(words("dist.female.first") + words("dist.male.first"))
    return first, {w: rank for rank, w in enumerate(words("dist.all.last"))}


def english_words(nlp) -> frozenset:
    """The words a spaCy English pipeline's lemmatizer knows (WordNet lemmas) plus its stop words."""
    words = set(nlp.Defaults.stop_words)
    if "lemmatizer" in nlp.component_names:
        lookups = nlp.get_pipe("lemmatizer").lookups
        for table in ("lemma_index", "lemma_exc"):
            if lookups.has_table(table):
                for entries in lookups.get_table(table).values():
                    words.update(w.lower() for w in (entries if isinstance(entries, list) else entries.keys()))
    return frozenset(words)


def _standalone(text: str, start: int, end: int) -> bool:
    """Not part of a code such as "EMP-004211" or "IMG_82"."""
    after, before = text[end:end + 2], text[max(start - 2, 0):start]
    return not re.match(r"[-_/.]?\d", after) and not re.search(r"\d[-_/.]?$", before)


def _shape(word: str) -> str | None:
    if word.islower():
        return "lower"
    if word.isupper():
        return "upper" if len(word) > 1 else None
    return "title" if word[0].isupper() else None


class NameRecognizer(LocalRecognizer):
    """Person names spaCy's small model misses, found from cues, census name lists and the lexicon.

    A word is name-like when it is no stop word and is a census first name, a capitalised census last
    name, or no English word (the lexicon is the spaCy model's lemma list, inflections included). Up
    to four words of one shape (lowercase, Capitalised, UPPER), one space or an initial apart, are a
    name when they follow a cue ("spoke with", "Hi", "Thanks,\\n", "assigned to", "Mr.", "soy",
    "Tenant:", a field label with "name" in it such as "Name on card:", or a short sign-off line
    ending in a comma when the name's line is short: "Talk soon,\\nAnna") or precede " here"
    ("frederick here"); without either, when there are two or more
    and the first is a census first name followed by a last name, or a Capitalised unknown word.
    Words glued to digits ("EMP-004211") and names followed by "Inc" or "Ltd" never count. `tidy`
    vets the spans of the other recognizers the same way.
    """

    CUE_SCORE, FIRST_NAME_SCORE, UNKNOWN_WORDS_SCORE = 0.6, 0.5, 0.45
    LOWERCASE_LAST_NAMES = 20_000
    MAX_WORDS = 4
    NAME_FIELD = r"\bname\b[^\n:.,;!?]{0,40}?(?=[ \t]*:)"
    SIGN_OFF = r"^(?:\w+[ ]){0,3}\w+(?=,[ \t]*\n[ \t]*\w+(?:[ .]+\w+){0,3}[ \t]*$)"
    CUE = re.compile(
        r"(?i)(?:" + NAME_FIELD + r"|(?<![\w'’])(?P<cue>"
        + "|".join(re.escape(c) for c in sorted(NAME_CUES, key=len, reverse=True))
        + r")\.?|(?m:^--|" + SIGN_OFF + r"))(?P<sep>[ \t]*[:,!]?[ \t]*\n(?:[ \t]*\n)?[ \t]*|[ \t]*:[ \t]*|,?[ \t]+)(?=\w)"
    )
    WORD = re.compile(r"[^\W\d_]+(?:(?:['’](?!s\b)|-)[^\W\d_]+)*")
    POSSESSIVE = re.compile(rf"(?<![\w'’-])([{_UPPER}][^\W\d_]+(?:-[^\W\d_]+)*)['’]s\b")
    HERE = re.compile(r"[ ]here\b", re.IGNORECASE)

    def __init__(self, lexicon: frozenset, stop_words: frozenset):
        self.lexicon, self.stop_words = lexicon, stop_words
        self.first, self.last_rank = census_names()
        super().__init__(supported_entities=["PERSON"], name="NameRecognizer")

    def load(self) -> None:
        self._agents = set()

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        words = [(m.start(), m.end(), m.group()) for m in self.WORD.finditer(text)]
        matches = list(self.CUE.finditer(text))
        cues = {m.end(): self._strong(m) for m in matches}
        self._agents = {m.end() for m in matches if (m.group("cue") or "").lower() in AGENT_CUES}
        for k, (start, _, word) in enumerate(words[:-1]):
            if start in cues and word.lower() in PARTICLES:
                cues.setdefault(words[k + 1][0], cues[start])
        results, i = [], 0
        while i < len(words):
            found = self._name_at(text, words, i, cues.get(words[i][0]))
            if found:
                end, score = found
                results.append(RecognizerResult("PERSON", words[i][0], words[end - 1][1], score))
                i = end
            else:
                i += 1
        return results + self._speakers(text) + self._possessives(text) + self._subjects(text)

    SUBJECT = re.compile(rf"(?:^|(?<=[.!?:;\n])[ \t]*|(?<=\bthat )|(?<=\bbut ))([{_UPPER}][^\W\d_]+(?:-[^\W\d_]+)*)"
                         r"[ ](?:(?P<human>said|says|spent|began|shouted|lives|lived|wrote|joined|asked|told|went|gave|"
                         r"met|moved|works|worked|replied|answered|signed|smiled|laughed|thinks|thought|wants|wanted)|"
                         r"was|is|had|has|will|would|can|could|did|does)\b")

    def _subjects(self, text: str) -> list[RecognizerResult]:
        """A word opening a clause before a verb: a name when the verb is one of people ("Rautiola wrote",
        "Stephan spent") and the word unusual or a first name, or before any verb when a first name that is no
        English word ("Izaak had", not "Grant was")."""
        found = []
        for m in self.SUBJECT.finditer(text):
            word = m.group(1)
            if word.lower() in self.stop_words:
                continue
            first_name = word.lower() in self.first and not self._known(word)
            if first_name or (m.group("human") and self._unusual_or_first_name(word, True)):
                found.append(RecognizerResult("PERSON", m.start(1), m.end(1), self.UNKNOWN_WORDS_SCORE))
        return found

    SPEAKER = re.compile(rf"(?m)^[ \t]*(?P<stamp>\[[^\]\n]{{1,20}}\][ \t]*)?(?P<name>[{_UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
                         rf"(?:[ ](?:[{_UPPER}]\.?|[^\W\d_]+(?:['’-][^\W\d_]+)*)){{0,3}})[ \t]*:[ \t]*(?=\S)")

    def _speakers(self, text: str) -> list[RecognizerResult]:
        """Who speaks in a chat or a script: "[10:02] Anna Kovács: hi", "Hideo: \"Who are you?\"".

        Without a timestamp every word must be name-like (so "Subject:" and "Phone:" are not names)."""
        found = []
        for m in self.SPEAKER.finditer(text):
            words = [w for w in self.WORD.findall(m.group("name")) if len(w) > 1]
            accept = self._capitalised_name_word if m.group("stamp") else self._unusual_or_first_name
            lowers = [w for w in words if w.lower() not in PARTICLES]
            if lowers and all(w[0].isupper() for w in lowers) and all(accept(w, k == 0) for k, w in enumerate(lowers)):
                found.append(RecognizerResult("PERSON", m.start("name"), m.end("name"), self.CUE_SCORE))
        return found

    def _unusual_or_first_name(self, word: str, first_of_run: bool) -> bool:
        return self._name_like(word, first_of_run) and (not self._known(word) or word.lower() in self.first)

    def _possessives(self, text: str) -> list[RecognizerResult]:
        """A name-like capitalised word with a possessive "'s" ("Persson's lawyer"): a name, unless English."""
        return [RecognizerResult("PERSON", m.start(1), m.end(1), self.UNKNOWN_WORDS_SCORE)
                for m in self.POSSESSIVE.finditer(text) if self._unusual_or_first_name(m.group(1), True)]

    @staticmethod
    def _strong(m: re.Match) -> bool:
        cue = (m.group("cue") or "--").lower()
        return cue not in WEAK_CUES or ":" in m.group("sep") or "\n" in m.group("sep")

    def _name_at(self, text: str, words: list, i: int, strong_cue: bool | None) -> tuple[int, float] | None:
        """(index after the name, score) when a name starts at word `i`; `strong_cue` is None without a cue."""
        shape = _shape(words[i][2])
        if shape is None:
            return None
        cued_title = strong_cue is not None and shape in ("title", "upper")
        end = self._run(text, words, i, shape, self._capitalised_name_word if cued_title else self._name_like)
        run = [w for _, _, w in words[i:end] if w.lower() not in PARTICLES and len(w) > 1]
        if not run:
            return None
        if strong_cue and (shape != "upper" or self._name_like(run[0], True)):
            return end, self.CUE_SCORE
        if cued_title and len(run) >= 2 and self._name_like(run[0], True):
            return end, self.CUE_SCORE
        if self.HERE.match(text, words[end - 1][1]) and self._starts_clause(text, words[i][0]):
            return end, self.CUE_SCORE
        if words[i][0] in self._agents and shape == "title" and len(run) == 1 and self._name_like(run[0], True) \
                and not self._known(run[0]):
            return end, self.FIRST_NAME_SCORE
        return self._uncued(run, shape, end)

    def _uncued(self, run: list[str], shape: str, end: int) -> tuple[int, float] | None:
        """Two or more words without a cue: census first name + last name, or unknown capitalised words."""
        if len(run) < 2 or not all(self._name_like(w, k == 0) for k, w in enumerate(run)):
            return None
        first, second = run[0].lower(), run[1].lower()
        if shape == "title" and first in self.first:
            return end, self.FIRST_NAME_SCORE
        if shape == "title" and not self._known(first) and (second in self.last_rank or not self._known(second)):
            return end, self.UNKNOWN_WORDS_SCORE
        if first in self.first and (second in self.last_rank or (shape == "lower" and not self._known(second))):
            return end, self.UNKNOWN_WORDS_SCORE
        return None

    @staticmethod
    def _joined(text: str, previous: tuple, start: int) -> bool:
        """Two words of one name: one space apart, or after an initial ("John F. Kennedy", "Klaus-D. Wolf")."""
        gap = text[previous[1]:start]
        return gap == " " or (gap == ". " and len(re.split(r"[-']", previous[2])[-1]) == 1)

    @staticmethod
    def _starts_clause(text: str, start: int) -> bool:
        i = start - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        return i < 0 or text[i] in ",;:!?.\n"

    def _run(self, text: str, words: list, i: int, shape: str, accept) -> int:
        """End of the run from `i` of words of one `shape`, one space apart, that `accept`, with particles."""
        end = i
        while end < len(words) and end - i < self.MAX_WORDS:
            start, _, word = words[end]
            if end > i and not self._joined(text, words[end - 1], start):
                break
            if end > i and word.lower() in PARTICLES:
                end += 1
                continue
            if end > i and len(word) == 1 and word.isupper() and (
                    text.startswith(". ", words[end][1]) or self._initial_before_name(text, words, end)):
                end += 1
                continue
            if COMPANY_SUFFIX.match(text, start):
                return i
            if _shape(word) != shape or not _standalone(text, start, words[end][1]) or not accept(word, end == i):
                break
            end += 1
        while end > i and words[end - 1][2].lower() in PARTICLES:
            end -= 1
        if end > i and COMPANY_SUFFIX.match(text, words[end - 1][1]):
            return i
        return end

    @staticmethod
    def _initial_before_name(text: str, words: list, k: int) -> bool:
        """Word `k` is an initial without a dot followed, one space on, by a capitalised word ("Alexandra B Bradley")."""
        return k + 1 < len(words) and words[k + 1][0] == words[k][1] + 1 and words[k + 1][2][0].isupper()

    def _after_cue(self, text: str, start: int) -> bool:
        return any(m.end() == start and self._strong(m) for m in self.CUE.finditer(text, max(0, start - 40), start + 1))

    PARTICLES_BEFORE = re.compile(r"(?:(?<![\w'’])(?:van|von|de|der|den|da|di|du|del|della|dos|das|do|le|la|ter|ten|zu|"
                                  r"Ó|Ní|Nic|Mac|Mc|Uí|Ua|bin|ibn|al|el|ben|bint)[ ]){1,3}$")
    PARTICLES_AFTER = re.compile(rf"(?:[ ](?:van|von|de|der|den|da|di|du|del|della|dos|das|do|le|la|ter|ten|zu|"
                                 rf"Ó|Ní|Nic|Mac|Mc|Uí|bin|ibn|al|el|ben|bint))+[ ][{_UPPER}][^\W\d_]+(?:['’-][^\W\d_]+)*")

    def _widen(self, text: str, r) -> None:
        """Stretch a name over the particles before it and a particle-led surname after it ("Ó Gobáin",
        "van de Weterink", "Raf van Soest", "O'Brien")."""
        before = self.PARTICLES_BEFORE.search(text, max(0, r.start - 20), r.start)
        if before:
            r.start = before.start()
        if re.search(r"(?<![\w'’])[OD]['’]$", text[max(0, r.start - 2):r.start]):
            r.start -= 2
        after = self.PARTICLES_AFTER.match(text, r.end)
        if after:
            r.end = after.end()

    LIST_CUE = re.compile(r"(?i:\b(?:co-?founders|founders|attendees|participants|members|authors|signatories|"
                          r"present|invitees|speakers|panelists|guests|owners|directors|organizers|organisers|"
                          r"signed by|attended by|founded by|written by|with)(?:[ ]+(?:were|are|include|included|was))?"
                          r"[ ]*:?[ ]+)")

    def _listed(self, text: str, taken: set) -> list[RecognizerResult]:
        """The first of a list of names after a cue ("founders: Joly, Price and Franklin"), when a list follows."""
        found = []
        for cue in self.LIST_CUE.finditer(text):
            m = re.compile(self.ITEM).match(text, cue.end())
            if not m or (m.start(), m.end()) in taken or not self.AFTER.match(text, m.end()):
                continue
            if self._listed_name(m.group()):
                found.append(RecognizerResult("PERSON", m.start(), m.end(), self.CUE_SCORE,
                                              recognition_metadata={"recognizer_name": self.name}))
        return found

    def _capitalised_name_word(self, word: str, first_of_run: bool) -> bool:
        low = word.lower()
        return low not in self.stop_words and low not in NOT_NAMES

    def _known(self, word: str) -> bool:
        """An English word, inflected or not."""
        low = word.lower()
        return low in self.lexicon or any(
            low.endswith(suffix) and low[: -len(suffix)] + base in self.lexicon for suffix, base in INFLECTIONS
        )

    def tidy(self, text: str, results: list) -> list:
        """Vet the spans of all recognizers: cut spaCy's at a line break (no name crosses one), drop
        spaCy's with digits or made only of English words no census name list holds ("Customer
        Support"), drop names followed by "Inc", "Ltd" or "Group", and phone numbers and postcodes labelled
        as another kind of number ("order 56167567", "SKU 9174-2454-46", "INV-65700927")."""
        kept = []
        for r in results:
            if r.recognition_metadata and r.recognition_metadata.get("recognizer_name") == "SpacyRecognizer":
                newline = text.find("\n", r.start, r.end)
                r.end = r.end if newline < 0 else newline
                _trim_digit_words(text, r)
                span = text[r.start:r.end]
                if not span.strip() or any(ch.isdigit() for ch in span):
                    continue
                if r.entity_type == "PERSON" and not self._could_be_a_name(span) and not self._after_cue(text, r.start):
                    continue
            if r.entity_type == "PERSON" and COMPANY_SUFFIX.match(text, r.end):
                continue
            if _labelled_otherwise(text, r):
                continue
            kept.append(r)
        people = [r for r in kept if r.entity_type == "PERSON"]
        listed = self._listed(text, {(r.start, r.end) for r in people})
        found = listed + self._list_mates(text, people + listed)
        for r in people + found:
            self._widen(text, r)
        return _outside_addresses(kept + found + self._namesakes(text, people + found))

    def _namesakes(self, text: str, people: list) -> list:
        """Other mentions of a found name's unusual words ("Izaak had given Izaak", "directed by Maćilo and
        starring Maćilo"): words no English lexicon holds, capitalised, of three letters or more."""
        words = {w for r in people for w in self.WORD.findall(text[r.start:r.end])
                 if len(w) > 2 and w[0].isupper() and not self._known(w) and w.lower() not in self.stop_words}
        if not words:
            return []
        covered = [(r.start, r.end) for r in people]
        pattern = re.compile(r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
                             + r")(?![\w-])")
        return [RecognizerResult("PERSON", m.start(), m.end(), self.CUE_SCORE,
                                 recognition_metadata={"recognizer_name": self.name})
                for m in pattern.finditer(text) if not any(s <= m.start() < e for s, e in covered)]

    LIST_SEP = r"(?:,[ ]*(?:and[ ]+|&[ ]+)?|[ ]+(?:and|&|und|et|y|e|or)[ ]+)"
    ITEM = (rf"(?:[{_UPPER}]\.[ ])?(?:(?:Ó|Ní|Nic|Mac|Mc|Uí|van|von|de|da|di|du|le|la)[ ])?[{_UPPER}][^\W\d_]+(?:['’-][^\W\d_]+)*"
            rf"(?:[ ][{_UPPER}]\.?)?(?:[ ](?:(?:van|von|de|der|den|da|di|du|del|le|la|Ó|Mac|Mc)[ ]){{0,2}}"
            rf"[{_UPPER}][^\W\d_]+(?:['’-][^\W\d_]+)*){{0,2}}")
    AFTER = re.compile(rf"{LIST_SEP}({ITEM})(?![\w-]|\.\w|[ ][{_UPPER}])")
    BEFORE = re.compile(rf"(?<![\w.-])({ITEM}){LIST_SEP}$")

    def _list_mates(self, text: str, people: list) -> list:
        """Capitalised words listed beside a found name ("Kónya, Becker and Vasquez"): names too."""
        taken = {(r.start, r.end) for r in people}
        found, queue = [], list(people)
        while queue:
            r = queue.pop()
            for m in (self.AFTER.match(text, r.end), self.BEFORE.search(text, max(0, r.start - 60), r.start)):
                if m and (m.start(1), m.end(1)) not in taken and self._listed_name(m.group(1)):
                    mate = RecognizerResult("PERSON", m.start(1), m.end(1), self.CUE_SCORE,
                                            recognition_metadata={"recognizer_name": self.name})
                    taken.add((mate.start, mate.end))
                    found.append(mate)
                    queue.append(mate)
        return found

    def _listed_name(self, item: str) -> bool:
        words = [w.lower() for w in self.WORD.findall(item) if len(w) > 1]
        return bool(words) and not any(w in self.stop_words or w in NOT_NAMES for w in words) and (
            self._could_be_a_name(item))

    def _could_be_a_name(self, span: str) -> bool:
        words = [w.lower() for w in self.WORD.findall(span)]
        return any(w in self.first or w in self.last_rank or not self._known(w) for w in words)

    def _name_like(self, word: str, first_of_run: bool) -> bool:
        low = word.lower()
        if len(low) < 2 or low in self.stop_words or low in NOT_NAMES:
            return False
        if low in self.first or not self._known(word):
            return True
        rank = self.last_rank.get(low)
        if rank is None:
            return False
        return word[0].isupper() or (not first_of_run and rank < self.LOWERCASE_LAST_NAMES)


class RegionalPhoneRecognizer(PhoneRecognizer):
    """Presidio's `phonenumbers` recognizer over the configured regions, without what it takes for a
    phone number in prose: ISO dates never; digit runs with no separator (order numbers) and national
    numbers without "+" or "(" (SKUs such as 2717-2833-20) only next to a phone word."""

    BARE = re.compile(r"\d+")
    DATE = re.compile(r"\d{4}-\d\d-\d\d|\d\d[./-]\d\d[./-]\d{2,4}")

    NOT_PHONES = re.compile(
        r"(?<![\d.-])\d{4}-\d\d-\d\d(?![\d.-])"
        r"|(?<![\d.])\d{1,2}[./]\d{1,2}[./](?:19|20)\d\d(?![\d.])"
        r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
        r"|\b[A-Z]{2}\d{2}(?:[ ]?[A-Z\d]{4}){2,7}(?:[ ]?[A-Z\d]{1,3})?\b"
        r"|(?<![\d+])(?:\d[ -]?){15,18}\d(?!\d)"
        r"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![.\d])")

    def _regional(self, text: str, nlp_artifacts) -> list:
        """Presidio's per-region `PhoneNumberMatcher` loop, with what is never a phone number blanked out
        first (dates, email addresses, IBANs, 16-19 digit card numbers, IPv4 addresses: other recognizers
        own them), and each number a region has matched blanked out for the regions after it: the
        matcher ran once per region over every candidate."""
        masked, results = self.NOT_PHONES.sub(lambda m: " " * len(m.group()), text), []
        for region in self.supported_regions:
            matches = list(phonenumbers.PhoneNumberMatcher(masked, region, leniency=self.leniency))
            for match in matches:
                try:
                    found_in = phonenumbers.region_code_for_number(phonenumbers.parse(match.raw_string))
                except phonenumbers.NumberParseException:
                    found_in = region
                results.append(self._get_recognizer_result(match, text, found_in, nlp_artifacts))
            for match in matches:
                masked = masked[:match.start] + " " * (match.end - match.start) + masked[match.end:]
        return EntityRecognizer.remove_duplicates(results)

    def analyze(self, text, entities, nlp_artifacts=None):
        results = []
        for r in self._regional(text, nlp_artifacts):
            value = text[r.start:r.end]
            if self.DATE.fullmatch(value):
                continue
            if self.BARE.fullmatch(value) or not value.startswith(("+", "(")):
                r.score = 0.3 if not self.BARE.fullmatch(value) else 0.1
            results.append(r)
        return results


def extra_recognizers(nlp=None, phone_regions: tuple[str, ...] = (), card_luhn: str = "require") -> list:
    """The recognizers above; `nlp` (the analyzer's spaCy pipeline) supplies the lexicon for names.

    Presidio's own IbanRecognizer and PhoneRecognizer must be removed from the registry first: the
    registry compiles the IBAN pattern case-insensitively, so "DE89 3704 0044 0532 0130 00 please"
    swallows "plea" and fails the checksum; and the `phonenumbers` matcher, run once per region, took
    two thirds of the analysis time on number-heavy text while the patterns of
    `loose_phone_recognizer` find the same numbers in the evaluation set (and SKUs it took for
    phone numbers no more).
    """
    recognizers = [
        IbanRecognizer(),
        street_address_recognizer(),
        AddressBlockRecognizer(),
        long_card_recognizer(),
        zip_code_recognizer(),
        loose_phone_recognizer(),
        extra_card_recognizer(),
        *([RegionalPhoneRecognizer(supported_regions=list(phone_regions), context=PHONE_CONTEXT)] if phone_regions else []),
        *([unchecked_card_recognizer()] if card_luhn == "context" else []),
    ]
    if nlp is not None:
        names = NameRecognizer(english_words(nlp), frozenset(nlp.Defaults.stop_words))
        recognizers += [names, FieldRecognizer(names._known, names.stop_words, frozenset(NOT_NAMES), names.first)]
    return recognizers


class AllWordsContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer, with stop words counted as context and whole-word matching.

    Presidio looks for context words among the non-stop-word lemmas only, and spaCy lists "call" and
    "name" as stop words, so "called from 53 2973-8495" never raised a phone number's score; its
    substring matching lets "tel" match "hotel"; and it finds each span's token by a linear scan, which
    makes a chunk with many spans quadratic. Punctuation tokens do not use up the window, and the words
    after a span are counted from its last token, not its first ("031-755-778 office").
    """

    def __init__(self, before: int = 5, after: int = 0):
        super().__init__(context_prefix_count=before, context_suffix_count=after, context_matching_mode="whole_word")

    def _extract_surrounding_words(self, nlp_artifacts, word: str, start: int) -> list[str]:
        tokens = nlp_artifacts.tokens
        if tokens is None or not len(tokens):
            return []
        if not isinstance(nlp_artifacts.keywords, frozenset):
            nlp_artifacts.keywords = frozenset(lemma.lower() for lemma in nlp_artifacts.lemmas
                                               if any(ch.isalnum() for ch in lemma))
        indices = nlp_artifacts.tokens_indices
        first = self._find_index_of_match_token(word, start, tokens, indices)
        last = self._find_index_of_match_token(word, start + max(len(word) - 1, 0), tokens, indices)
        keywords, lemmas = nlp_artifacts.keywords, nlp_artifacts.lemmas
        before = self._add_n_words_backward(first, self.context_prefix_count, lemmas, keywords)
        after = self._add_n_words_forward(last, self.context_suffix_count, lemmas, keywords)
        return list({*before, *after})

    @staticmethod
    def _find_index_of_match_token(word: str, start: int, tokens, tokens_indices: list[int]) -> int:
        """The first token that ends after `start` (Presidio scans every token for each span)."""
        i = max(bisect.bisect_right(tokens_indices, start) - 1, 0)
        if i + 1 < len(tokens) and tokens_indices[i] + len(tokens[i]) <= start:
            i += 1
        return i
