"""Records -> chat-formatted token ids with answer-only labels, shared by training and evaluation.

A record (prompt, optional context, response) becomes the messages [system?, user, assistant]; the
user turn carries the context as "Context:\\n...\\n\\nQuestion: ...". Labels are -100 everywhere
except the assistant answer (and the template's end-of-turn tokens), so the loss is answer-only
(training can opt into every token with `training.loss_on=all`; validation and evaluation stay
answer-only).
"""

from __future__ import annotations

from dataclasses import dataclass

from tunepipe.config import Config

IGNORE = -100
REAL_TOKENS = "num_real_tokens"
TRUNCATION_POLICY = (
    "keep the whole prompt and cut the answer at model.max_seq_len; drop a row whose prompt alone fills it"
)


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


def encode_record(cfg: Config, tokenizer, record: dict, max_len: int, answer_only: bool = True) -> Example | None:
    """Token ids and labels (answer-only, or every token), cut to `max_len`; None when no answer token
    would remain."""
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
    labels = ([IGNORE] * len(prompt_ids) if answer_only else prompt_ids) + answer_ids
    if len(prompt_ids) >= max_len:
        return None
    return Example(ids[:max_len], labels[:max_len], truncated=len(ids) > max_len)


def encode_frame(
    cfg: Config, tokenizer, frame, max_len: int, answer_only: bool = True
) -> tuple[list[Example], int, int]:
    """Encode a records DataFrame; returns (examples, truncated count, dropped count)."""
    examples, dropped = [], 0
    for record in frame.to_dict("records"):
        example = encode_record(cfg, tokenizer, record, max_len, answer_only)
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


def flatten(examples: list[Example]) -> dict:
    """The examples concatenated into one row, positions restarting per example (transformers'
    `DataCollatorWithFlattening`); the first label of every example is ignored, so no token is
    predicted across a boundary."""
    from transformers import DataCollatorWithFlattening

    return DataCollatorWithFlattening()([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])


def pack(examples: list[Example], max_len: int, pad_id: int) -> dict:
    """Padding-free packing of one batch: whole examples in as few rows of at most `max_len` tokens as
    first-fit decreasing finds, each row flattened, rows right-padded to the longest.

    The model masks attention per example from the position ids (only without a KV cache: training
    sets `use_cache=False`). A row's padding continues the last example's positions and carries no
    label: nothing before it attends to it. Capping rows at `max_len` keeps attention cost per row
    where padding had it, instead of one row the length of the whole batch.
    """
    import torch

    rows: list[list[Example]] = []
    for example in sorted(examples, key=lambda e: -len(e.input_ids)):
        row = next((r for r in rows if sum(len(e.input_ids) for e in r) + len(example.input_ids) <= max_len), None)
        if row is None:
            rows.append([example])
        else:
            row.append(example)
    flat = [flatten(row) for row in rows]
    width = max(f["input_ids"].shape[1] for f in flat)
    batch = {"input_ids": [], "labels": [], "position_ids": []}
    for f in flat:
        extra = width - f["input_ids"].shape[1]
        last = int(f["position_ids"][0, -1])
        batch["input_ids"].append(torch.nn.functional.pad(f["input_ids"], (0, extra), value=pad_id))
        batch["labels"].append(torch.nn.functional.pad(f["labels"], (0, extra), value=IGNORE))
        batch["position_ids"].append(torch.cat([f["position_ids"], torch.arange(last + 1, last + 1 + extra)[None]], 1))
    packed = {k: torch.cat(v) for k, v in batch.items()}
    packed[REAL_TOKENS] = sum(len(e.input_ids) for e in examples)
    return packed


class Batcher:
    """The training collator: right-padded batches, or packed ones (`pack`)."""

    def __init__(self, pad_id: int, packing: bool, max_len: int):
        self.pad_id, self.packing, self.max_len = pad_id, packing, max_len

    def __call__(self, examples: list[Example]) -> dict:
        return pack(examples, self.max_len, self.pad_id) if self.packing else collate(examples, self.pad_id)


def real_tokens(batch: dict) -> int:
    """Tokens in a batch that are not padding (a packed batch carries its count)."""
    if REAL_TOKENS in batch:
        return batch[REAL_TOKENS]
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum())
    return int(batch["input_ids"].numel())


def label_tokens(examples: list[Example]) -> int:
    return sum(sum(1 for label in e.labels if label != IGNORE) for e in examples)
