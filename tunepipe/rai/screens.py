"""Responsible-AI screens: per-row flags for secrets, toxicity and blocked terms, each with a policy.

Every screen is configured under `rai.*` with `enabled` and an `action`: `drop` (the record leaves
the dataset), `quarantine` (held back for review) or `flag` (kept, flagged in `rai_flags`).

- secret: credentials found by detect-secrets' plugins, run offline on each line (AWS, GitHub,
  GitLab, Slack, Stripe, OpenAI, Twilio, SendGrid, npm, PyPI... keys, private key headers, JWTs,
  passwords in URLs, quoted `password = "..."` assignments), with its false-positive filters
  (sequential strings, UUIDs, templates such as `${PASSWORD}`), plus opaque `Bearer` tokens, which
  detect-secrets has no plugin for. A private key is redacted from its BEGIN line to its END line.
  Found secrets are redacted to `<SECRET>` in every text that is kept or shown, whatever the
  action; reports name only the kind of secret, never its value.
- toxicity: alt-profanity-check, a linear SVM trained on ~200k human-labelled comments that ships
  inside its wheel (no download, ~0.04 ms a text, a probability to compare with
  `rai.toxicity.threshold`; word-list filters such as better-profanity give only yes/no).
- blocked_term: `rai.blocked_terms.terms`, matched case-insensitively as whole words.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

from tunepipe.config import Config

SECRET_PLUGINS = (
    "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "JwtTokenDetector",
    "KeywordDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector",
    "PypiTokenDetector", "SendGridDetector", "SlackDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
)
"""detect-secrets plugins for credentials in prose. Left out: IPPublicDetector (IP addresses are PII,
handled by Presidio), the high-entropy-string plugins (they flag ids, hashes and base64 data) and
the IBM Cloud/Cloudant/SoftLayer assignment plugins (a third of the scan time for variable names
that prose does not use; KeywordDetector still catches `api_key = "..."`)."""

PRIVATE_KEY = "Private Key"
BEARER = "Bearer Token"
FLAGS = ("secret", "toxicity", "blocked_term")
_BEARER = re.compile(r"\b[Bb]earer[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)")
_KEY_END = re.compile(r"-----END[^\n]*-----|END [A-Z0-9 ]*PRIVATE KEY[^\n]*")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-+/=.~]")
_LINE = re.compile(r"[^\r\n]+")


@dataclass(frozen=True)
class Secret:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class ScreenSettings:
    """Each screen's action, or None when it is off; small and picklable for Spark workers."""

    secrets: str | None = "quarantine"
    toxicity: str | None = "flag"
    toxicity_threshold: float = 0.5
    blocked_terms: str | None = None
    terms: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: Config) -> "ScreenSettings":
        r = cfg.rai
        terms = tuple(t for t in r.blocked_terms.terms if t.strip())
        return cls(
            r.secrets.action if r.secrets.enabled else None,
            r.toxicity.action if r.toxicity.enabled else None,
            r.toxicity.threshold,
            r.blocked_terms.action if r.blocked_terms.enabled and terms else None,
            terms,
        )

    @property
    def enabled(self) -> bool:
        return any(a is not None for a in (self.secrets, self.toxicity, self.blocked_terms))

    def action(self, flag: str) -> str:
        return {"secret": self.secrets, "toxicity": self.toxicity, "blocked_term": self.blocked_terms}[flag]


@dataclass
class Screened:
    """One row's result: flag -> detail (never a secret value), and the secrets found per column."""

    flags: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, list[Secret]] = field(default_factory=dict)


def screen_rows(columns: dict[str, list], settings: ScreenSettings) -> list[Screened]:
    """Run the enabled screens over rows given as {column: values}; non-strings are skipped."""
    n = len(next(iter(columns.values()), []))
    rows = [Screened() for _ in range(n)]
    if settings.secrets:
        _screen_secrets(columns, rows)
    if settings.toxicity:
        _screen_toxicity(columns, rows, settings.toxicity_threshold)
    if settings.blocked_terms:
        _screen_blocked(columns, rows, blocked_pattern(settings.terms))
    return rows


def _screen_secrets(columns: dict[str, list], rows: list[Screened]) -> None:
    for col, texts in columns.items():
        for row, text in zip(rows, texts):
            found = find_secrets(text) if isinstance(text, str) else []
            if found:
                row.secrets[col] = found
    for row in rows:
        kinds = {col: sorted({s.kind for s in found}) for col, found in row.secrets.items()}
        if kinds:
            row.flags["secret"] = "; ".join(f"{', '.join(k)} in {col}" for col, k in kinds.items())


def _screen_toxicity(columns: dict[str, list], rows: list[Screened], threshold: float) -> None:
    best = [(0.0, "")] * len(rows)
    for col, texts in columns.items():
        best = [max(b, (s, col)) for b, s in zip(best, toxicity_scores(texts))]
    for row, (score, col) in zip(rows, best):
        if col and score >= threshold:
            row.flags["toxicity"] = f"toxicity {score:.2f} >= rai.toxicity.threshold {threshold:g} in {col}"


def _screen_blocked(columns: dict[str, list], rows: list[Screened], pattern: re.Pattern) -> None:
    hits: list[dict[str, set[str]]] = [{} for _ in rows]
    for col, texts in columns.items():
        for hit, text in zip(hits, texts):
            terms = {" ".join(m.split()).casefold() for m in pattern.findall(text)} if isinstance(text, str) else set()
            if terms:
                hit[col] = terms
    for row, hit in zip(rows, hits):
        if hit:
            row.flags["blocked_term"] = "; ".join(f"{', '.join(sorted(t))} in {col}" for col, t in hit.items())


def find_secrets(text: str) -> list[Secret]:
    """Credentials in `text` with their character spans (widened to the whole token)."""
    scanner = _scanner()
    if not text or not scanner.may_hold_secret(text):
        return []
    from detect_secrets.core.scan import scan_line

    found = [Secret(m.start(1), m.end(1), BEARER) for m in _BEARER.finditer(text)]
    for line in _LINE.finditer(text):
        if not scanner.line_may_hold_secret(line.group()):
            continue
        for hit in scan_line(line.group()):
            if hit.type == PRIVATE_KEY:
                found.append(_private_key(text, line))
            elif hit.secret_value:
                spans = _value_spans(line, hit.secret_value, scanner.by_type.get(hit.type))
                found += [Secret(s, e, hit.type) for s, e in spans]
    return sorted(set(found), key=lambda s: (s.start, -s.end))


@dataclass(frozen=True)
class _Scanner:
    plugins: tuple
    keyword: object
    by_type: dict
    keywords: re.Pattern

    def may_hold_secret(self, text: str) -> bool:
        """A cheap pass over a whole text: a plugin's pattern, a bearer token, or a keyword and a quote."""
        if _BEARER.search(text) or (("'" in text or '"' in text) and self.keywords.search(text)):
            return True
        return any(_recognises(p, text) for p in self.plugins)

    def line_may_hold_secret(self, line: str) -> bool:
        """The same per line, with the keyword plugin's own pattern; only such lines get the full scan."""
        return any(_recognises(p, line) for p in (*self.plugins, self.keyword))


@lru_cache(maxsize=1)
def _scanner() -> _Scanner:
    """Configure detect-secrets once per process: our plugin list, its default filters, no network.

    KeywordDetector needs quotes around the value in prose (`password = "..."`).
    """
    from detect_secrets.plugins import keyword
    from detect_secrets.settings import configure_settings_from_baseline, get_plugins

    logging.getLogger("detect-secrets").setLevel(logging.WARNING)
    configure_settings_from_baseline({"plugins_used": [{"name": name} for name in SECRET_PLUGINS]})
    plugins = tuple(get_plugins())
    is_keyword = [isinstance(p, keyword.KeywordDetector) for p in plugins]
    return _Scanner(
        tuple(p for p, k in zip(plugins, is_keyword) if not k),
        next(p for p, k in zip(plugins, is_keyword) if k),
        {p.secret_type: p for p in plugins},
        re.compile("|".join(keyword.DENYLIST), re.IGNORECASE),
    )


def _value_spans(line: re.Match, value: str, plugin) -> list[tuple[int, int]]:
    """Where a reported secret value sits in the line, in text offsets.

    Whole-token occurrences when there are any; otherwise the value is part of a token (the
    `ghp` of a GitHub token, a JWT without its signature) and each occurrence is widened to its
    token, keeping the tokens the plugin itself recognises (all of them if it recognises none),
    so that no part of the secret stays behind.
    """
    offset, body = line.start(), line.group()
    spans = [(m.start(), m.end()) for m in re.finditer(re.escape(value), body)]
    chosen = [(s, e) for s, e in spans if not _token_at(body, s - 1) and not _token_at(body, e)]
    if not chosen:
        widened = [_widen(body, s, e) for s, e in spans]
        chosen = [(s, e) for s, e in widened if plugin and _recognises(plugin, body[s:e])] or widened
    return [(offset + s, offset + e) for s, e in chosen]


def _recognises(plugin, token: str) -> bool:
    return next(iter(plugin.analyze_string(token)), None) is not None


def _token_at(body: str, i: int) -> bool:
    return 0 <= i < len(body) and _TOKEN_CHAR.match(body[i]) is not None


def _widen(body: str, start: int, end: int) -> tuple[int, int]:
    while _token_at(body, start - 1):
        start -= 1
    while _token_at(body, end):
        end += 1
    while end > start + 1 and body[end - 1] == ".":
        end -= 1
    return start, end


def _private_key(text: str, line: re.Match) -> Secret:
    """The key block: from the BEGIN marker's line to its END line (or to the end of the text)."""
    begin = line.group().find("-----")
    start = line.start() + max(begin, 0)
    end = _KEY_END.search(text, line.end())
    return Secret(start, end.end() if end else len(text), PRIVATE_KEY)


@lru_cache(maxsize=1)
def _toxicity_model():
    from profanity_check import predict_prob

    return predict_prob


def toxicity_scores(texts: list) -> list[float]:
    """Probability that each text is offensive (0.0 for non-strings and blank texts)."""
    scores = [0.0] * len(texts)
    todo = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    if todo:
        for i, score in zip(todo, _toxicity_model()([texts[i] for i in todo])):
            scores[i] = float(score)
    return scores


@lru_cache(maxsize=8)
def blocked_pattern(terms: tuple[str, ...]) -> re.Pattern:
    """One case-insensitive whole-word regex for all terms (longest first; spaces match any whitespace)."""
    words = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
