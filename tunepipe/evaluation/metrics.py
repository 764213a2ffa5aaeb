"""Metrics: mean answer-token loss of a causal LM, and ROUGE-L F1 of generated answers."""

from __future__ import annotations

from typing import Sequence

from tunepipe.training.data import Example, collate


def answer_token_loss(model, examples: Sequence[Example], pad_id: int, batch_size: int = 8) -> float:
    """Cross-entropy averaged over every answer token of `examples` (token-weighted, not per row).

    Logits are aligned on the last positions, so a prompt-learning PEFT model (virtual tokens prepended)
    is scored on the same tokens as any other.
    """
    import torch

    total, count = 0.0, 0
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = collate(list(examples[start:start + batch_size]), pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            width = batch["input_ids"].shape[1]
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, -width:]
            targets = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].transpose(1, 2).float(), targets, ignore_index=-100, reduction="sum"
            )
            total += losses.item()
            count += int((targets != -100).sum())
    model.train(was_training)
    if count == 0:
        raise ValueError("no answer tokens to score")
    return total / count


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """ROUGE-L F1 per pair (stemmed, rouge-score's default tokenizer)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]


def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
