"""What the PEFT backend knows before it loads any weights: the base model, tokenizer, hardware, the
encoded splits and where to resume (shared by `peft_backend` and `trainer`, so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass

from tunepipe.training import checkpoint, methods
from tunepipe.training.data import Example


@dataclass
class Preflight:
    base_dir: str
    tokenizer: object
    hw: methods.Hardware
    train: list[Example]
    val: list[Example]
    truncated: int
    dropped: int
    resume: checkpoint.Resume
