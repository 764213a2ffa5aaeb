"""Text normalisation and quality measures of the clean stage, for one text at a time (plain Python).

The clean stage (`tunepipe.data_quality.clean`) runs these inside Spark pandas UDFs; here they have
no Spark in them, so each can be read and tested on its own.

Normalisation, in order: line breaks unified; markup turned into text by a real HTML parser
(resiliparse, on lexbor) when the text looks like HTML, so block tags become line breaks, scripts and
styles vanish and entities are decoded, while plain text such as "a < b" is never parsed; entities in
text without tags decoded; Unicode NFKC; control and format characters removed; horizontal
whitespace collapsed; lines matching a boilerplate pattern dropped; runs of blank lines cut to one.

Quality measures, after Gopher (Rae et al. 2021), on each field; the worst field counts:
  repeated_line_fraction    non-blank lines that repeat an earlier line / non-blank lines
  repeated_ngram_fraction   characters in word 10-grams that repeat an earlier one / all word
                            characters (10, not Gopher's 5-10: single-turn texts are short, and a
                            name or an address written twice must not count as a loop)
  symbol_word_ratio         symbol characters (Unicode S* categories, '#', ellipses) / words
  language                  py3langid's bundled model; only a confident (p >= 0.8) identification
                            of a language outside clean.languages filters (short English texts
                            are sometimes taken for Nigerian Pidgin at p ~ 0.5-0.65)
Words are whitespace-separated tokens that hold a letter or a digit (see `words`).
`verdict` applies the `clean.*` limits to a cleaned record and says why it is filtered, if it is.
"""

from __future__ import annotations

import functools
import html
import re
import string
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

import regex
from resiliparse.extract.html2text import extract_plain_text

from tunepipe.config import CleanConfig

MARKUP = re.compile(r"</[a-z][a-z0-9]*\s*>|<(br|hr|img)\b[^<>]*>|<!--|<!doctype\b", re.IGNORECASE)
ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
LINE_BREAK = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
CONTROL = regex.compile(r"[[\p{Cc}\p{Cf}]--[\n\t]]", regex.VERSION1)
HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
BLANK_LINES = re.compile(r"\n{3,}")
PUNCTUATION = string.punctuation + "\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u00ab\u00bb\u2022"
SYMBOL = regex.compile(r"\p{S}|#|\.\.\.|\u2026")
NGRAM_SIZE = 10
TEXT_FIELDS = ("prompt", "context", "response")

Identify = Callable[[str], tuple[str, float]]


def looks_like_markup(text: str) -> bool:
    """A closing tag, a <br>/<hr>/<img>, a comment or a doctype: enough to be worth parsing."""
    return MARKUP.search(text) is not None


def html_to_text(text: str) -> str:
    """Visible text of an HTML fragment: block elements on their own lines, entities decoded."""
    return extract_plain_text(text, preserve_formatting=True, main_content=False, list_bullets=True,
                              alt_texts=False, links=False, form_fields=False, noscript=False)


def normalise_text(text: str | None, strip_html: bool = True, boilerplate: Iterable[re.Pattern] = ()) -> str | None:
    """The cleaned form of one text (None stays None)."""
    if text is None:
        return None
    text = LINE_BREAK.sub("\n", text)
    if strip_html and looks_like_markup(text):
        text = html_to_text(text)
    elif strip_html and ENTITY.search(text):
        text = html.unescape(text)
    text = CONTROL.sub("", unicodedata.normalize("NFKC", text))
    lines = (line.strip() for line in HORIZONTAL_SPACE.sub(" ", text).split("\n"))
    kept = [line for line in lines if not any(p.search(line) for p in boilerplate)]
    return BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()


def repeated_line_fraction(text: str) -> float:
    lines = [line for line in text.split("\n") if line.strip()]
    return (len(lines) - len(set(lines))) / len(lines) if lines else 0.0


def words(text: str) -> list[str]:
    """Lower-cased whitespace-separated tokens with punctuation stripped from their ends, that hold
    a letter or a digit."""
    stripped = (t.strip(PUNCTUATION) for t in text.lower().split())
    return [w for w in stripped if any(ch.isalnum() for ch in w)]


def repeated_ngram_fraction(text: str, n: int = NGRAM_SIZE) -> float:
    """Characters of the word n-grams that repeat an earlier one / characters of all words.

    As in Gopher (and datatrove's `find_all_duplicate`): the first occurrence is not counted, and a
    counted repeat is skipped over as a whole, so overlapping repeats are not counted twice.
    """
    ws = words(text)
    seen, repeated, i = set(), 0, 0
    while i <= len(ws) - n:
        gram = tuple(ws[i:i + n])
        if gram in seen:
            repeated += sum(len(w) for w in gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / sum(len(w) for w in ws) if repeated else 0.0


def symbol_word_ratio(text: str) -> float:
    return len(SYMBOL.findall(text)) / max(len(words(text)), 1)


@functools.lru_cache(maxsize=1)
def language_identifier():
    """py3langid's bundled model, loaded once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of the most likely language."""
    return language_identifier().classify(text)


def known_languages() -> list[str]:
    return language_identifier().labels


def _worst(fields: dict[str, str], measure: Callable[[str], float]) -> tuple[str, float]:
    return max(((name, measure(text)) for name, text in fields.items()), key=lambda kv: kv[1])


def verdict(record: dict, limits: CleanConfig, identify: Identify = identify_language) -> tuple[str | None, str | None]:
    """(reason, detail) for a cleaned record with token counts, or (None, None) to keep it.

    The first failing check wins, in this order: too_short, too_long, too_few_tokens,
    too_many_tokens, repeated_lines, repeated_ngrams, symbol_ratio, language. The detail names the
    field, the measured value and the config key with its limit.
    """
    fields = {f: record.get(f) or "" for f in TEXT_FIELDS}
    for check in (_chars, _tokens, _repetition, _symbols, _language):
        found = check(fields, record, limits, identify)
        if found:
            return found
    return None, None


def _chars(fields, record, limits, identify):
    for name in ("prompt", "response"):
        if len(fields[name]) < limits.min_chars:
            return "too_short", f"{name} has {len(fields[name])} chars < clean.min_chars={limits.min_chars}"
    total = sum(len(t) for t in fields.values())
    if total > limits.max_chars:
        return "too_long", f"prompt+context+response has {total} chars > clean.max_chars={limits.max_chars}"
    return None


def _tokens(fields, record, limits, identify):
    for name in ("prompt_tokens", "response_tokens"):
        if record[name] < limits.min_tokens:
            return "too_few_tokens", f"{name}={record[name]} < clean.min_tokens={limits.min_tokens}"
    total = record["prompt_tokens"] + record["response_tokens"]
    if limits.max_tokens is not None and total > limits.max_tokens:
        return "too_many_tokens", f"prompt_tokens+response_tokens={total} > clean.max_tokens={limits.max_tokens}"
    return None


def _repetition(fields, record, limits, identify):
    name, value = _worst(fields, repeated_line_fraction)
    if value > limits.max_repeated_line_fraction:
        return "repeated_lines", (f"{name}: {value:.2f} of lines repeat an earlier line > "
                                  f"clean.max_repeated_line_fraction={limits.max_repeated_line_fraction:g}")
    n = limits.repeated_ngram_size
    name, value = _worst(fields, lambda text: repeated_ngram_fraction(text, n))
    if value > limits.max_repeated_ngram_fraction:
        return "repeated_ngrams", (f"{name}: {value:.2f} of word characters in repeated {n}-grams > "
                                   f"clean.max_repeated_ngram_fraction={limits.max_repeated_ngram_fraction:g}")
    return None


def _symbols(fields, record, limits, identify):
    name, value = _worst(fields, symbol_word_ratio)
    if value > limits.max_symbol_word_ratio:
        return "symbol_ratio", (f"{name}: {value:.2f} symbols per word > "
                                f"clean.max_symbol_word_ratio={limits.max_symbol_word_ratio:g}")
    return None


def _language(fields, record, limits, identify):
    if limits.languages is None:
        return None
    for name, text in fields.items():
        if len(text) >= limits.min_language_chars:
            lang, prob = identify(text)
            if lang not in limits.languages and prob >= limits.min_language_confidence:
                return "language", (f"{name}: language {lang} (p={prob:.2f}) not in "
                                    f"clean.languages={list(limits.languages)}")
    return None


@functools.lru_cache(maxsize=2)
def token_counter(tokenizer_dir: str) -> Callable[[list[str]], list[int]]:
    """A function: texts -> token count of each, without special tokens; built once per process.

    A `tokenizer.json` is loaded with the `tokenizers` library: the same ids as the transformers
    fast tokenizer, without importing transformers (~0.1 s instead of ~6 s of CPU in each Spark
    Python worker). A directory without one goes through transformers' AutoTokenizer.
    """
    path = Path(tokenizer_dir) / "tokenizer.json"
    if path.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return lambda texts: [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(tokenizer_dir)
    return lambda texts: [len(ids) for ids in auto(texts, add_special_tokens=False, verbose=False)["input_ids"]]


def token_counts(tokenizer_dir: str, texts: list[str | None]) -> list[int]:
    """Token count of each text without special tokens (None counts 0)."""
    return token_counter(tokenizer_dir)([t or "" for t in texts]) if texts else []
