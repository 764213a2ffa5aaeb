"""Aggregates, paired bootstrap intervals and per-slice tables over per-row scores.

A model's scores are columns aligned with the test rows: `loss_sum` and `loss_tokens` (answer-token
cross-entropy summed per row and its token count; NaN where the row was not scored for loss) and one
column per text metric (NaN where no answer was generated). Loss is pooled over tokens, the text metrics
are row means. A delta between two models resamples the rows both scored, together (paired), with
`scipy.stats.bootstrap` (percentile interval, fixed seed), so a difference on the same rows is not
drowned by how much the rows differ from each other.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tunepipe.evaluation.metrics import LOSS_METRICS

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20261203


def _loss(sums, tokens, axis=-1):
    return np.sum(sums, axis=axis) / np.sum(tokens, axis=axis)


def _columns(metric: str, scores: dict) -> list[np.ndarray]:
    if metric in LOSS_METRICS:
        return [np.asarray(scores["loss_sum"], float), np.asarray(scores["loss_tokens"], float)]
    return [np.asarray(scores[metric], float)]


def _scored(metric: str, scores: dict) -> np.ndarray:
    return ~np.isnan(_columns(metric, scores)[0])


def value(metric: str, scores: dict, mask: np.ndarray | None = None) -> tuple[float | None, int]:
    """(aggregate, n rows) of one metric, over `mask` rows if given."""
    keep = _scored(metric, scores) if mask is None else _scored(metric, scores) & mask
    n = int(keep.sum())
    if n == 0:
        return None, 0
    cols = [c[keep] for c in _columns(metric, scores)]
    if metric in LOSS_METRICS:
        loss = float(_loss(*cols))
        return (loss if metric == "loss" else math.exp(min(loss, 700.0))), n
    return float(cols[0].mean()), n


def paired_delta(metric: str, candidate: dict, reference: dict, resamples: int = RESAMPLES,
                 seed: int = SEED) -> dict | None:
    """candidate - reference with a paired bootstrap interval, over the rows both scored; None if none."""
    from scipy.stats import bootstrap

    both = _scored(metric, candidate) & _scored(metric, reference)
    n = int(both.sum())
    if n == 0:
        return None
    cand = [c[both] for c in _columns(metric, candidate)]
    ref = [c[both] for c in _columns(metric, reference)]
    statistic = _loss_delta(metric) if metric in LOSS_METRICS else (lambda c, r, axis=-1: np.mean(c - r, axis=axis))
    point = float(statistic(*cand, *ref))
    if n < 2 or np.allclose(np.stack(cand + ref), np.stack(cand + ref)[:, :1]):
        low = high = point
    else:
        res = bootstrap((*cand, *ref), statistic, paired=True, vectorized=True, n_resamples=resamples,
                        confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return {"value": point, "low": low, "high": high, "n": n, "confidence": CONFIDENCE}


def _loss_delta(metric: str):
    transform = (lambda x: x) if metric == "loss" else (lambda x: np.exp(np.minimum(x, 700.0)))

    def statistic(cs, ct, rs, rt, axis=-1):
        return transform(_loss(cs, ct, axis)) - transform(_loss(rs, rt, axis))

    return statistic


def slice_name(column: str, raw) -> str:
    text = "" if raw is None or raw != raw else str(raw)
    return f"{column}={Path(text).name if column == 'source' else text}"


def slices(rows: list[dict], scores: dict[str, dict], metrics: list[str]) -> list[dict]:
    """Per record shape and per source: each model's value of each metric on that slice, with n."""
    out = []
    for column in ("shape", "source"):
        names = [slice_name(column, r.get(column)) for r in rows]
        for name in sorted(set(names)):
            mask = np.array([n == name for n in names])
            for model, model_scores in scores.items():
                for metric in metrics:
                    val, n = value(metric, model_scores, mask)
                    if val is not None:
                        out.append({"slice": name, "model": model, "metric": metric, "value": val, "n": n})
    return out
