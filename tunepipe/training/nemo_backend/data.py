"""The split files in NeMo's JSONL layout (input/output), with prompts rendered by the base model's tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError


NEMO_FILES = ("training.jsonl", "validation.jsonl", "test.jsonl")


def load_tokenizer(base_dir: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if not tokenizer.chat_template:
        raise TunepipeError(
            f"the tokenizer in {base_dir} has no chat template, which training formats every row with: use an "
            "instruct/chat model, or add a chat_template to its tokenizer_config.json"
        )
    return tokenizer


def stage_data(cfg: Config, tokenizer, source: str, target: str) -> dict:
    """Copy the NeMo files with `input` rendered through the chat template (as evaluation and serving
    prompt) and `output` the answer with the template's end of turn; returns rows per file."""
    from tunepipe.training.data import prompt_messages, prompt_text

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in NEMO_FILES:
        src = Path(source) / name
        if not src.is_file():
            raise TunepipeError(f"{src} is missing: the NeMo data comes from the split stage's `nemo` output")
        lines = []
        for line in src.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                messages = prompt_messages(cfg, row["input"])
                prompt = prompt_text(tokenizer, messages)
                full = tokenizer.apply_chat_template(
                    messages + [{"role": "assistant", "content": row["output"]}], tokenize=False
                )
                lines.append(json.dumps({"input": prompt, "output": full[len(prompt):]}))
        (out / name).write_text("".join(f"{line}\n" for line in lines))
        counts[name] = len(lines)
    if not counts["training.jsonl"]:
        raise TunepipeError(f"{source}/training.jsonl has no rows: re-run the split stage with more data")
    return counts
