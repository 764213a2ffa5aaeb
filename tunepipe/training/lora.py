"""The fine-tuning stage's historical import path; the PEFT backend lives in `peft_backend`."""

from tunepipe.training.peft_backend import SUMMARY_FILE, finetune, set_threads

__all__ = ["SUMMARY_FILE", "finetune", "set_threads"]
