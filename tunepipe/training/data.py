"""Records -> chat-formatted token ids with answer-only labels, shared by training and evaluation.

A record (prompt, optional context, response) becomes the messages [system?, user, assistant]; the
user turn carries the context as "Context:\\n...\\n\\nQuestion: ...". Labels are -100 everywhere
except the assistant answer (and the template's end-of-turn tokens), so the loss is answer-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunepipe.config import Config

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False


def user_content(prompt: str, context: str | None) -> str:
    if context is None or context != context or not str(context).strip():
        return prompt
    return f"Context:\n{context}\n\nQuestion: {prompt}"


def prompt_messages(cfg: Config, prompt: str, context: str | None = None) -> list[dict]:
    """The messages a model sees before it answers (the same at training, evaluation and serving)."""
    messages = [{"role": "system", "content": cfg.model.system_prompt}] if cfg.model.system_prompt else []
    return messages + [{"role": "user", "content": user_content(prompt, context)}]


def prompt_text(tokenizer, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def encode_record(cfg: Config, tokenizer, record: dict, max_len: int) -> Example | None:
    """Token ids and answer-only labels, cut to `max_len`; None when no answer token would remain."""
    messages = prompt_messages(cfg, record["prompt"], record.get("context"))
    prompt = prompt_text(tokenizer, messages)
    full = tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": record["response"]}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the prompt differently once an answer follows")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    ids = prompt_ids + answer_ids
    labels = [IGNORE] * len(prompt_ids) + answer_ids
    if len(prompt_ids) >= max_len:
        return None
    return Example(ids[:max_len], labels[:max_len], truncated=len(ids) > max_len)


def encode_frame(cfg: Config, tokenizer, frame, max_len: int) -> tuple[list[Example], int, int]:
    """Encode a records DataFrame; returns (examples, truncated count, dropped count)."""
    examples, dropped = [], 0
    for record in frame.to_dict("records"):
        example = encode_record(cfg, tokenizer, record, max_len)
        if example is None:
            dropped += 1
        else:
            examples.append(example)
    return examples, sum(e.truncated for e in examples), dropped


def collate(examples: list[Example], pad_id: int) -> dict:
    """Right-padded tensors: input_ids, attention_mask, labels (pad positions ignored)."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
