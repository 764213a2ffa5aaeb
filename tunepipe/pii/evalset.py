"""Scoring labelled PII data: how much personal data the detector redacts, and how much else it hides.

`score(records, predictions)` measures what redaction needs: a gold span counts as redacted when
predicted spans of ANY entity type cover at least 90% of its characters (per-label recall, with a
Wilson 95% interval), and character precision (with a bootstrap 95% interval over records) is the
share of predicted characters that lie inside a gold span. `load(path, fmt)` reads the repo's labelled
JSONL or Presidio's research JSON format; `predict` runs tunepipe's detector or plain Presidio. The
labelled sets themselves are built outside the runtime package, in tests/pii/: development files (the
seeded dev set, and two former test splits, each tuned on only after it had been scored once) and a
frozen test split, scored once per round; `tunepipe pii eval FILE` scores any file.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from tunepipe.errors import TunepipeError

COVERED = 0.9
TARGETS = {"recall": 0.95, "char_precision": 0.85}
DIRECT_IDENTIFIERS = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
    "STREET_ADDRESS", "ZIP_CODE",
)


def load(path: str | Path, fmt: str = "tunepipe") -> list[dict]:
    """Labelled records from `path`: the repo's JSONL (`text`, `spans` of start/end/label) or Presidio's
    research format (`fmt="presidio"`: a JSON list, or JSON lines, of `full_text` and `spans` with
    `entity_type`, `start_position`, `end_position`), as the repo's records."""
    path = Path(path)
    if not path.is_file():
        raise TunepipeError(f"{path} is not a file: pass a labelled JSONL or Presidio JSON file")
    raw = path.read_text(encoding="utf-8")
    try:
        rows = json.loads(raw) if raw.lstrip().startswith("[") else [json.loads(x) for x in raw.splitlines() if x.strip()]
        return [_from_presidio(r, i) for i, r in enumerate(rows)] if fmt == "presidio" else [_own(r, i) for i, r in enumerate(rows)]
    except (ValueError, KeyError, TypeError) as err:
        raise TunepipeError(f"{path} is not a labelled file in the {fmt} format ({err!r}): check --format") from None


def _own(r: dict, i: int) -> dict:
    spans = [{"start": int(s["start"]), "end": int(s["end"]), "label": str(s["label"])} for s in r["spans"]]
    return {**r, "id": r.get("id", i), "text": str(r["text"]), "spans": spans}


def _from_presidio(r: dict, i: int) -> dict:
    spans = [{"start": int(s["start_position"]), "end": int(s["end_position"]), "label": str(s["entity_type"])}
             for s in r["spans"]]
    return {"id": r.get("id", i), "split": r.get("split", "all"), "text": str(r["full_text"]), "spans": spans}


def _covered(mask: bytearray, start: int, end: int) -> int:
    return sum(mask[start:end])


def score(records: list[dict], predictions: list[list]) -> dict:
    """Per-label redaction recall and overall character precision of `predictions` (one list per record).

    A prediction is anything with `start`, `end` and `entity_type` (Presidio's RecognizerResult).
    """
    found: dict[str, list[int]] = {}
    predicted_chars = inside_gold = 0
    missed = []
    by_type: dict[str, list[int]] = {}
    per_record: list[tuple[int, int]] = []
    for rec, preds in zip(records, predictions):
        size = len(rec["text"])
        pred_mask, gold_mask = bytearray(size), bytearray(size)
        for p in preds:
            pred_mask[p.start:p.end] = b"\x01" * (p.end - p.start)
        for g in rec["spans"]:
            gold_mask[g["start"]:g["end"]] = b"\x01" * (g["end"] - g["start"])
            hit = _covered(pred_mask, g["start"], g["end"]) >= COVERED * (g["end"] - g["start"])
            counts = found.setdefault(g["label"], [0, 0])
            counts[0] += hit
            counts[1] += 1
            if not hit:
                missed.append({"id": rec["id"], "label": g["label"], "text": rec["text"][g["start"]:g["end"]]})
        inside = sum(p & g for p, g in zip(pred_mask, gold_mask))
        per_record.append((inside, sum(pred_mask)))
        predicted_chars += per_record[-1][1]
        inside_gold += inside
        for p in preds:
            t = by_type.setdefault(p.entity_type, [0, 0])
            t[0] += _covered(gold_mask, p.start, p.end)
            t[1] += p.end - p.start
    return {
        "records": len(records),
        "recall": {label: round(h / n, 4) for label, (h, n) in sorted(found.items())},
        "recall_ci95": {label: wilson(h, n) for label, (h, n) in sorted(found.items())},
        "direct_identifiers": _pooled(found),
        "gold_spans": {label: n for label, (_, n) in sorted(found.items())},
        "char_precision": round(inside_gold / predicted_chars, 4) if predicted_chars else 1.0,
        "char_precision_ci95": _char_precision_ci(per_record),
        "char_precision_by_type": {t: round(i / n, 4) for t, (i, n) in sorted(by_type.items()) if n},
        "missed": missed,
    }


def wilson(hits: int, n: int, z: float = 1.96) -> list[float]:
    """Wilson score interval (95%) of a recall of `hits` out of `n` (statsmodels' proportion_confint, method wilson)."""
    if n == 0:
        return [0.0, 1.0]
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def _pooled(found: dict) -> dict:
    hits = sum(found[k][0] for k in DIRECT_IDENTIFIERS if k in found)
    n = sum(found[k][1] for k in DIRECT_IDENTIFIERS if k in found)
    return {"recall": round(hits / n, 4) if n else 1.0, "ci95": wilson(hits, n), "gold_spans": n}


def _char_precision_ci(per_record: list[tuple[int, int]], rounds: int = 1000) -> list[float]:
    """Bootstrap 95% interval of character precision, resampling records (seeded: the same every run)."""
    rng = random.Random(0)
    rows = [r for r in per_record if r[1]]
    if not rows:
        return [1.0, 1.0]
    stats = []
    for _ in range(rounds):
        sample = [rows[rng.randrange(len(rows))] for _ in rows]
        stats.append(sum(i for i, _ in sample) / sum(n for _, n in sample))
    stats.sort()
    return [round(stats[int(0.025 * rounds)], 4), round(stats[int(0.975 * rounds) - 1], 4)]


def meets_targets(result: dict) -> bool:
    recall = result["recall"]
    return result["char_precision"] >= TARGETS["char_precision"] and all(
        recall.get(label, 1.0) >= TARGETS["recall"] for label in DIRECT_IDENTIFIERS
    )


def plain_presidio(spacy_model: str, entities: list[str]):
    """What a user would write: Presidio's AnalyzerEngine with its own recognizers on the same spaCy model."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from tunepipe.pii.detect import LANGUAGE, offline_tldextract

    offline_tldextract()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": LANGUAGE, "model_name": spacy_model}],
    }).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=[LANGUAGE])
    return lambda text, threshold: analyzer.analyze(text, language=LANGUAGE, entities=entities,
                                                    score_threshold=threshold)


def predict(records: list[dict], settings=None, baseline: bool = False) -> list[list]:
    """Spans tunepipe's detector (or, with `baseline`, plain Presidio) finds in each record."""
    from tunepipe.pii.detect import PiiSettings, find_spans

    settings = settings or PiiSettings.default()
    texts = [r["text"] for r in records]
    if baseline:
        analyze = plain_presidio(settings.spacy_model, list(settings.entities))
        return [analyze(t, settings.score_threshold) for t in texts]
    return find_spans(texts, settings)


def evaluate(records: list[dict], predictions: list[list]) -> dict:
    """Scores on the whole set ("all") and on each split the records name, where they name several."""
    result = {"all": score(records, predictions)}
    splits = list(dict.fromkeys(r.get("split", "all") for r in records))
    for split in splits if len(splits) > 1 else ():
        keep = [i for i, r in enumerate(records) if r.get("split", "all") == split]
        result[split] = score([records[i] for i in keep], [predictions[i] for i in keep])
    return result


def _cell(result: dict | None, label: str | None = None) -> str:
    if not result:
        return "-"
    if label is None:
        value, (lo, hi) = result["char_precision"], result["char_precision_ci95"]
    elif label == "direct":
        value, (lo, hi) = result["direct_identifiers"]["recall"], result["direct_identifiers"]["ci95"]
    else:
        value, (lo, hi) = result["recall"].get(label, 0.0), result["recall_ci95"].get(label, [0.0, 0.0])
    return f"{value:.3f} [{lo:.2f}-{hi:.2f}]"


def table(tunepipe_result: dict, baseline_result: dict | None = None) -> str:
    """A plain-text table: recall per label with 95% intervals (baseline and tunepipe), direct
    identifiers pooled, and character precision."""
    rows = [f"{'label':<18}{'gold':>6}  {'plain Presidio':<22}{'tunepipe':<22}"]
    for label, n in tunepipe_result["gold_spans"].items():
        rows.append(f"{label:<18}{n:>6}  {_cell(baseline_result, label):<22}{_cell(tunepipe_result, label):<22}")
    n = tunepipe_result["direct_identifiers"]["gold_spans"]
    rows.append(f"{'direct identifiers':<18}{n:>6}  {_cell(baseline_result, 'direct'):<22}"
                f"{_cell(tunepipe_result, 'direct'):<22}")
    rows.append(f"{'char precision':<18}{'':>6}  {_cell(baseline_result):<22}{_cell(tunepipe_result):<22}")
    return "\n".join(rows)
