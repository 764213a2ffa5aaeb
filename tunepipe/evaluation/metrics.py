"""Metrics, per row so that intervals can be bootstrapped: answer-token loss, and text overlap of answers.

Loss is token-weighted over the answer tokens of every row scored (per row: the summed cross-entropy and
its token count); perplexity is exp(loss). Generated answers get ROUGE-L F1 (rouge-score), sentence BLEU
and chrF (sacrebleu, rescaled to 0..1) and SQuAD's exact match and token F1 (lower-cased, punctuation and
articles removed). Every aggregate carries its sample size `n`.
"""

from __future__ import annotations

import collections
import math
import re
import string
from typing import Sequence

from tunepipe.training.data import Example, collate

LOWER_IS_BETTER = frozenset({"loss", "perplexity"})
TEXT_METRICS = ("rouge_l", "bleu", "chrf", "exact_match", "token_f1")
LOSS_METRICS = ("loss", "perplexity")


def row_losses(model, examples: Sequence[Example], pad_id: int, batch_size: int = 8) -> list[tuple[float, int]]:
    """(summed answer-token cross-entropy, answer tokens) per example.

    Logits are aligned on the last positions, so a prompt-learning PEFT model (virtual tokens prepended)
    is scored on the same tokens as any other.
    """
    import torch

    out: list[tuple[float, int]] = []
    order = by_length([len(e.input_ids) for e in examples])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = collate([examples[i] for i in order[start:start + batch_size]], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            width = batch["input_ids"].shape[1]
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, -width:]
            targets = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].transpose(1, 2).float(), targets, ignore_index=-100, reduction="none"
            )
            counts = (targets != -100).sum(dim=1)
            out += [(float(s), int(c)) for s, c in zip(losses.sum(dim=1), counts)]
    model.train(was_training)
    return unsort(out, order)


def by_length(lengths: Sequence[int]) -> list[int]:
    """Indices longest first, so each batch pads to similar lengths (fewer wasted positions on CPU)."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def unsort(values: list, order: list[int]) -> list:
    """`values` computed in `order`, put back in the original order."""
    out = [None] * len(values)
    for value, i in zip(values, order):
        out[i] = value
    return out


def answer_token_loss(model, examples: Sequence[Example], pad_id: int, batch_size: int = 8) -> float:
    """Cross-entropy averaged over every answer token of `examples` (token-weighted, not per row)."""
    rows = row_losses(model, examples, pad_id, batch_size)
    count = sum(c for _, c in rows)
    if count == 0:
        raise ValueError("no answer tokens to score")
    return sum(s for s, _ in rows) / count


def pooled_loss(sums: Sequence[float], counts: Sequence[int]) -> float:
    return float(sum(sums) / sum(counts))


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 700.0))


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """ROUGE-L F1 per pair (stemmed, rouge-score's default tokenizer)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]


def bleu(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """Sentence BLEU per pair (sacrebleu defaults: 13a tokenizer, exponential smoothing), 0..1."""
    from sacrebleu.metrics import BLEU

    scorer = BLEU(effective_order=True)
    return [scorer.sentence_score(pred, [ref]).score / 100.0 for pred, ref in zip(predictions, references)]


def chrf(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """Sentence chrF per pair (sacrebleu defaults: character 6-grams, beta 2), 0..1."""
    from sacrebleu.metrics import CHRF

    scorer = CHRF()
    return [scorer.sentence_score(pred, [ref]).score / 100.0 for pred, ref in zip(predictions, references)]


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    return [float(normalize_answer(p) == normalize_answer(r)) for p, r in zip(predictions, references)]


def token_f1(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """SQuAD token F1 per pair: harmonic mean of token precision and recall after normalisation."""
    out = []
    for pred, ref in zip(predictions, references):
        p, r = normalize_answer(pred).split(), normalize_answer(ref).split()
        if not p or not r:
            out.append(float(p == r))
            continue
        common = sum((collections.Counter(p) & collections.Counter(r)).values())
        out.append(0.0 if common == 0 else 2 * common / (len(p) + len(r)))
    return out


def text_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, list[float]]:
    """Every text metric, per row."""
    fns = {"rouge_l": rouge_l, "bleu": bleu, "chrf": chrf, "exact_match": exact_match, "token_f1": token_f1}
    return {name: fn(predictions, references) for name, fn in fns.items()}


def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
