"""Score one model on the evaluation rows: per-row answer loss, greedy answers and their metrics.

Every model sees exactly the same rows and the same prompts (chat template, system prompt, contexts) as at
training and serving time. Columns are aligned with the rows: the first `evaluation.max_loss_rows` are
scored for loss, the first `evaluation.max_samples` get generated answers; NaN marks a row not scored (or,
for loss, a row whose prompt alone fills model.max_seq_len, so no answer token is left).
"""

from __future__ import annotations

import math

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.evaluation.metrics import by_length, row_losses, text_scores, unsort

NAN = math.nan


def score_model(cfg: Config, model_dir: str, rows: list[dict]) -> dict:
    """{"loss_sum", "loss_tokens", <text metrics>, "ragas.*", "answers", "n_truncated", "n_dropped"}."""
    from tunepipe.training.methods import load_trained
    from tunepipe.training.peft_backend import set_threads

    set_threads()
    model, tokenizer = load_trained(cfg, model_dir)
    scores = _loss_columns(cfg, model, tokenizer, rows)
    gen_rows = rows[:cfg.evaluation.max_samples]
    answers = generate_answers(cfg, model, tokenizer, gen_rows)
    pad = [NAN] * (len(rows) - len(gen_rows))
    for name, values in text_scores(answers, [r["response"] for r in gen_rows]).items():
        scores[name] = values + pad
    for name, ragas in _rag_scores(cfg, gen_rows, answers).items():
        scores[name] = [NAN if v is None else v for v in ragas["values"]] + pad
        scores.setdefault("reasons", {})[name] = ragas.get("reason")
    scores["answers"] = answers + [None] * len(pad)
    return scores


def _loss_columns(cfg: Config, model, tokenizer, rows: list[dict]) -> dict:
    from tunepipe.training.data import encode_record

    examples, where, truncated = [], [], 0
    for i, record in enumerate(rows[:cfg.evaluation.max_loss_rows]):
        example = encode_record(cfg, tokenizer, record, cfg.model.max_seq_len)
        if example is not None:
            examples.append(example)
            where.append(i)
            truncated += example.truncated
    if not examples:
        raise TunepipeError(f"no test row fits model.max_seq_len={cfg.model.max_seq_len}: every prompt fills the "
                            "context and leaves no answer token; raise model.max_seq_len or shorten the prompts")
    sums, tokens = [NAN] * len(rows), [NAN] * len(rows)
    for i, (s, c) in zip(where, row_losses(model, examples, tokenizer.pad_token_id, cfg.evaluation.batch_size)):
        sums[i], tokens[i] = s, c
    n_loss = min(len(rows), cfg.evaluation.max_loss_rows)
    return {"loss_sum": sums, "loss_tokens": tokens, "n_truncated": truncated, "n_dropped": n_loss - len(examples)}


def generate_answers(cfg: Config, model, tokenizer, rows) -> list[str]:
    """Greedy answers in batches, left-padded, prompts cut from the left to model.max_seq_len."""
    import torch

    from tunepipe.training.data import prompt_messages, prompt_text

    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    prompts = [prompt_text(tokenizer, prompt_messages(cfg, r["prompt"], r.get("context"))) for r in records]
    order = by_length([len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]) if prompts else []
    answers: list[str] = []
    size = cfg.evaluation.batch_size
    for start in range(0, len(prompts), size):
        batch = tokenizer(
            [prompts[i] for i in order[start:start + size]], return_tensors="pt", padding=True, truncation=True,
            max_length=cfg.model.max_seq_len, add_special_tokens=False,
        )
        with torch.no_grad():
            out = model.generate(
                **batch, max_new_tokens=cfg.evaluation.max_new_tokens, do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, batch["input_ids"].shape[1]:]
        answers += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return unsort(answers, order)


def _rag_scores(cfg: Config, rows: list[dict], answers: list[str]) -> dict:
    """ragas metrics of the RAG rows (tunepipe.evaluation.rag), names prefixed `ragas.`."""
    from tunepipe.evaluation.rag import score_rag

    if not any(r.get("shape") == "rag" for r in rows):
        return {}
    return {name if name.startswith("ragas.") else f"ragas.{name}": v
            for name, v in score_rag(cfg, rows, answers).items()}
