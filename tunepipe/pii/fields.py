"""Personal data found from a document's structure rather than its prose: table columns, form fields,
lists of people after a cue word, and chat speakers.

Text exported from enterprise systems is often not prose: a CSV/TSV or Markdown table whose cells
("Yuna", "Tadić", "145504503") have no sentence around them for NER or context words, a form whose
fields are upper case ("SURNAME: ATENCIO"), JSON/YAML records, meeting minutes listing attendees in
any script, chat logs with lowercase handles. `FieldRecognizer` reads that structure:

- a table is a header line and at least one row with the same number of cells, split on tabs,
  commas, semicolons, pipes (quoted cells kept whole) or, for a fixed-width export, two spaces or more; a column whose header names a person, a
  phone, an SSN, an address or an email makes each of its cells that entity;
- a field is `label: value` (or `label = value`, `"label": "value"`) at a line start or after a
  wide gap, the value ending at the line, a wide gap or a quote;
- a list after "Attendees:", "Apologies:", "Present:", "cc:"... holds names separated by `;`, `,` or
  "and", in any script;
- a chat line "08:04 jan-willem: ..." or an action line "- K. Daniel: ..." (two or more in a text)
  names its speaker, lowercase or not, and other mentions of an
  unusual speaker name or a non-Latin name found here are that person too.

Every value is vetted for its kind (a name has no digits, and is not only stop words or, lowercase,
only English words; in a list or as a speaker, it is no English word unless a census first name; a
phone has 6-15 digits; an SSN 9) so "Name: n/a" or a chat's "System:" is not taken. Addresses are reported as
LOCATION, like the other address recognizers.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

PERSON_WORDS = frozenset("""
name names surname surnames firstname lastname fullname givenname forename forenames middlename familyname
first last given family full nachname vorname nombre apellido apellidos prenom prénom nom cognome
contact customer client employee patient attendee holder cardholder owner tenant landlord guest driver
recipient requester requestor speaker author passenger member student signatory beneficiary payee payer
applicant candidate physician doctor guarantor witness manager agent caller sender consignee addressee
spouse partner parent guardian kin representative assignee reporter approver reviewer teacher nurse
""".split())
NOT_PERSON_WORDS = frozenset("""
id no nr number num count code company org organisation organization business brand product item file
host server user username domain project team department dept job role title plan group event room
store shop vendor supplier merchant bank hotel city street country state region type status date time
email mail phone tel mobile address url site category account iban card sku model version app device
""".split())
PHONE_WORDS = frozenset("phone phones tel telephone mobile cell cellphone fax telefon telefono teléfono telefone "
                        "handy msisdn whatsapp gsm tlf puhelin".split())
ADDRESS_WORDS = frozenset("address addr address1 address2 street strasse straße adresse anschrift direccion "
                          "dirección indirizzo endereco endereço adres rue calle via".split())
NOT_ADDRESS_WORDS = frozenset("email mail ip mac web url billing_code".split())
SSN_WORDS = frozenset(["ssn", "socialsecurity", "socialsecuritynumber"])
EMAIL_WORDS = frozenset(["email", "mail", "emailaddress"])
TITLES = re.compile(r"^(?:(?:dr|mr|mrs|ms|mx|miss|prof|sir|herr|frau|mme|m|sr|sra)\.?[ ]+)+", re.IGNORECASE)
DELIMITERS = ("\t", "|", ";", ",", "  ")
ALIGNED = re.compile(r"\S+(?:[ ]\S+)*")
LIST_CUE = re.compile(r"(?im)(?:^|(?<=[ ]{2})|(?<=\t))[ \t]*(?:attendees|attending|apologies|absent|present|"
                      r"participants|invitees|attendance|panel(?:ists)?|speakers|signatories|witnesses|"
                      r"co-?founders|founders|members|cc|bcc|regrets)[ \t]*:[ \t]*(?P<items>[^\n]+)")
STAMP = r"(?:[-*•]|\[?\(?\d{1,2}[:.]\d\d(?::\d\d)?(?:[ ]?[AaPp][Mm])?\)?\]?|\[[^\]\n]{1,24}\])"
SPEAKER = re.compile(rf"(?m)^[ \t]*{STAMP}[ \t]*(?:-[ \t]*)?<?(?P<name>[^\W\d_][\w'’.-]*(?:[ ][^\W\d_][\w'’.-]*){{0,2}})>?[ \t]*:")
FIELD = re.compile(r"(?m)(?:^|(?<=[ ]{2})|(?<=\t)|(?<=\|[ ])|(?<=[{,][ ])|(?<=[{,]))[ \t]*[-*•]?[ \t]*"
                   r"[\"']?(?P<key>[^\W\d][\w .'’/()-]{0,38}?)[\"']?[ \t]*(?::|=(?!=))[ \t]*"
                   r"(?P<quote>[\"']?)(?P<value>[^\n\"]*)")
VALUE_END = re.compile(r"[ ]{2,}|\t|[ ]\|[ ]|\"")
NAME_END = re.compile(r"[ ]+[-–—][ ]+|[ ]*\(|[ ]*<|[ ]*,|[ ]*;|[ ]*/[ ]*\d|[ ]+\d")
WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _key_words(key: str) -> list[str]:
    """The words of a header or label: "first_name" → first, name; "SURNAME" → surname; "lastName" → last, name."""
    key = re.sub(r"([a-z])([A-Z])", r"\1 \2", key.strip())
    return [w for w in re.split(r"[^\w]+|_", key.lower()) if w]


def entity_of(key: str) -> str | None:
    """The entity a column header or field label names, or None."""
    words = _key_words(key)
    if not words or len(words) > 4:
        return None
    joined = "".join(words)
    if joined in SSN_WORDS or "ssn" in words:
        return "US_SSN"
    if set(words) & EMAIL_WORDS or joined in EMAIL_WORDS:
        return "EMAIL_ADDRESS"
    if set(words) & PHONE_WORDS:
        return "PHONE_NUMBER"
    if set(words) & ADDRESS_WORDS and not set(words) & NOT_ADDRESS_WORDS:
        return "LOCATION"
    if (set(words) & PERSON_WORDS or joined in PERSON_WORDS) and not set(words) & NOT_PERSON_WORDS:
        return "PERSON"
    return None


class FieldRecognizer(LocalRecognizer):
    """PERSON, PHONE_NUMBER, US_SSN, EMAIL_ADDRESS and LOCATION from tables, fields, cue lists and chat
    speakers (see the module docstring). `known` says whether a word is English (the names recognizer's
    lexicon), `stop_words` are the model's."""

    SCORE = 0.7
    ENTITIES = ["PERSON", "PHONE_NUMBER", "US_SSN", "EMAIL_ADDRESS", "LOCATION"]

    def __init__(self, known=None, stop_words: frozenset = frozenset(), not_names: frozenset = frozenset(),
                 first_names: frozenset = frozenset()):
        self.known = known or (lambda word: False)
        self.stop_words, self.not_names, self.first_names = stop_words, not_names, first_names
        super().__init__(supported_entities=self.ENTITIES, name="FieldRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        found = [*self._tables(text), *self._fields(text), *self._lists(text)]
        speakers = self._speakers(text)
        found += speakers + self._mentions(text, [s for s in found + speakers if s[2] == "PERSON"])
        return [RecognizerResult(entity, start, end, self.SCORE, recognition_metadata={"recognizer_name": self.name})
                for start, end, entity in _unique(found) if entity in entities]

    def _tables(self, text: str) -> list[tuple[int, int, str]]:
        lines = _lines(text)
        found, i = [], 0
        while i < len(lines) - 1:
            table = _table_at(lines, i)
            if table is None:
                i += 1
                continue
            columns, rows, i = table
            for cells in rows:
                for col, entity in columns.items():
                    start, end = cells[col]
                    if self._valid(entity, text[start:end]):
                        found.append(self._trimmed(text, start, end, entity))
        return found

    def _fields(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        for m in FIELD.finditer(text):
            entity = entity_of(m.group("key"))
            if entity is None:
                continue
            start = m.start("value")
            stop = VALUE_END.search(text, start, m.end("value"))
            end = stop.start() if stop else m.end("value")
            if entity == "PERSON":
                cut = NAME_END.search(text, start, end)
                end = cut.start() if cut else end
            end = start + len(text[start:end].rstrip(" .,;"))
            if end > start and self._valid(entity, text[start:end]):
                found.append(self._trimmed(text, start, end, entity))
        return found

    def _lists(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        for m in LIST_CUE.finditer(text):
            start = m.start("items")
            for item in re.finditer(r"[^;,]+", m.group("items")):
                for part in re.split(r"[ ]+(?:and|&|und|et|y|e)[ ]+", item.group()):
                    offset = start + item.start() + item.group().find(part)
                    cut = NAME_END.search(part)
                    value = (part[:cut.start()] if cut else part).strip().rstrip(".")
                    if value and self._valid("PERSON", value, listed=True):
                        lead = offset + part.find(value)
                        found.append(self._trimmed(text, lead, lead + len(value), "PERSON"))
        return found

    def _speakers(self, text: str) -> list[tuple[int, int, str]]:
        matches = list(SPEAKER.finditer(text))
        if len(matches) < 2:
            return []
        return [(m.start("name"), m.end("name"), "PERSON") for m in matches
                if self._valid("PERSON", m.group("name"), listed=True)]

    def _mentions(self, text: str, people: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Other mentions of a found name's distinctive words: non-Latin words of two characters or more,
        and Latin words of three or more that are no English word, in any case."""
        words = set()
        for start, end, _ in people:
            for w in WORD.findall(text[start:end]):
                w = w.rstrip(".")
                if (not LATIN.search(w) and len(w) >= 2) or (len(w) >= 3 and not self._common(w)):
                    words.add(w)
        if not words:
            return []
        taken = [(s, e) for s, e, _ in people]
        pattern = re.compile(r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
                             + r")(?![\w-])", re.IGNORECASE)
        return [(m.start(), m.end(), "PERSON") for m in pattern.finditer(text)
                if not any(s <= m.start() < e for s, e in taken)]

    def _common(self, word: str) -> bool:
        low = word.lower()
        return low in self.stop_words or low in self.not_names or self.known(word)

    def _valid(self, entity: str, value: str, listed: bool = False) -> bool:
        value = value.strip().strip("\"'")
        if not value:
            return False
        digits = sum(ch.isdigit() for ch in value)
        if entity == "PHONE_NUMBER":
            return 6 <= digits <= 15 and bool(re.fullmatch(r"[+(]?[\d][\d ().\-/]*(?:[ ]?(?:x|ext\.?)[ ]?\d+)?", value))
        if entity == "US_SSN":
            return digits == 9 and bool(re.fullmatch(r"\d{3}[- ]?\d{2}[- ]?\d{4}", value))
        if entity == "EMAIL_ADDRESS":
            return bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.\w+", value))
        if entity == "LOCATION":
            return 6 <= len(value) <= 120 and bool(re.search(r"[^\W\d_]", value)) and "@" not in value
        return self._name(value, listed)

    def _name(self, value: str, listed: bool) -> bool:
        value = TITLES.sub("", value)
        words = [w.rstrip(".") for w in WORD.findall(value)]
        if not words or len(words) > 5 or len(value) > 60 or any(ch.isdigit() or ch in "@#=/\\" for ch in value):
            return False
        if sum(len(w) for w in words) < len(re.sub(r"[\s.'’-]", "", value)):
            return False
        latin = [w for w in words if LATIN.search(w) and len(w) > 1]
        if any(w.lower() in self.not_names or w.lower() in {"none", "n/a", "na", "tbd", "unknown", "same"} for w in latin):
            return False
        if latin and all(w.lower() in self.stop_words or w.lower() in self.not_names for w in latin):
            return False
        if not listed:
            return not (value.islower() and all(self._common(w) for w in latin))
        if latin and not all(w[0].isupper() or w.islower() for w in latin):
            return False
        return not latin or not all(self._common(w) and w.lower() not in self.first_names for w in latin)

    @staticmethod
    def _trimmed(text: str, start: int, end: int, entity: str) -> tuple[int, int, str]:
        value = text[start:end]
        lead = len(value) - len(value.lstrip(" \"'"))
        start += lead
        end = start + len(text[start:end].rstrip(" \"'"))
        if entity == "PERSON":
            title = TITLES.match(text, start, end)
            start = title.end() if title else start
        return start, end, entity


def _unique(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    return sorted({f for f in found if f[1] > f[0]})


def _lines(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for line in text.split("\n"):
        out.append((start, line))
        start += len(line) + 1
    return out


def split_cells(line: str, delimiter: str) -> list[tuple[int, int]]:
    """(start, end) of each cell of a delimited line; a quoted cell is its inside, with delimiters kept."""
    if delimiter == "  ":
        return [m.span() for m in ALIGNED.finditer(line)]
    cells, i, n = [], 0, len(line)
    while i <= n:
        if line.startswith('"', i):
            close = i + 1
            while True:
                close = line.find('"', close)
                if close < 0 or not line.startswith('"', close + 1):
                    break
                close += 2
            close = n if close < 0 else close
            cells.append((i + 1, close))
            nxt = line.find(delimiter, close)
        else:
            nxt = line.find(delimiter, i)
            cells.append((i, n if nxt < 0 else nxt))
        if nxt < 0:
            return cells
        i = nxt + 1
    return cells


def _header(line: str) -> tuple[str, list[tuple[int, int]], dict[int, str]] | None:
    """(delimiter, cells, {column: entity}) when `line` is a table header naming personal data."""
    for delimiter in DELIMITERS:
        if line.count(delimiter) < 1 or (delimiter in ", " and line.count(delimiter) < 2):
            continue
        cells = split_cells(line, delimiter)
        names = [line[s:e].strip().strip("*`") for s, e in cells]
        labels = [x for x in names if x]
        if len([x for x in labels if x[0].isalpha()]) < (3 if delimiter == "  " else 2) or not all(
                len(x) <= 40 and not re.search(r"[\d@:=]", x) for x in labels):
            continue
        columns = {k: entity for k, x in enumerate(names) if x and (entity := entity_of(x))}
        if columns:
            return delimiter, cells, columns
    return None


def _table_at(lines: list[tuple[int, str]], i: int):
    """(columns, rows of absolute cell spans, next line index) for a table whose header is line `i`."""
    head = _header(lines[i][1])
    if head is None:
        return None
    delimiter, cells, columns = head
    rows, j = [], i + 1
    while j < len(lines):
        offset, line = lines[j]
        if delimiter == "|" and re.fullmatch(r"[\s|:+-]*-[\s|:+-]*", line):
            j += 1
            continue
        row = split_cells(line, delimiter) if line.strip() else []
        if len(row) != len(cells):
            break
        rows.append([(offset + s, offset + e) for s, e in row])
        j += 1
    return (columns, rows, j) if rows else None
