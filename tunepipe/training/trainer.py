"""The Hugging Face Trainer as the PEFT backend runs it: arguments from the config, token counting,
answer-token validation, per-step MLflow metrics, early stopping and checkpoints for resume.
"""

from __future__ import annotations

import time
from typing import Callable

from transformers import EarlyStoppingCallback, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from tunepipe.config import Config
from tunepipe.training import dist
from tunepipe.training.data import REAL_TOKENS, Batcher, real_tokens
from tunepipe.training.preflight import Preflight
from tunepipe.training.tracker import TrainingRun


def make_trainer(cfg: Config, model, pre: Preflight, run: TrainingRun, val_loss: Callable):
    """(trainer, token meter) for `model`; checkpoints go to the resume plan's dir."""
    meter = TokenMeter()
    callbacks = [meter, StepLogger(cfg, run)]
    if cfg.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.training.early_stopping_patience))
    trainer = TokenTrainer(
        model=model, args=arguments(cfg, pre), train_dataset=pre.train, eval_dataset=pre.val or None,
        data_collator=Batcher(pre.tokenizer.pad_token_id, cfg.training.packing, cfg.model.max_seq_len),
        callbacks=callbacks, meter=meter, validate=lambda m: val_loss(m, pre),
    )
    trainer.remove_callback(PrinterCallback)
    return trainer, meter


def arguments(cfg: Config, pre: Preflight) -> TrainingArguments:
    from tunepipe.training.parallel import parallel_arguments

    t, hw = cfg.training, pre.hw
    evaluating = bool(t.eval_every and pre.val)
    return TrainingArguments(
        output_dir=str(pre.resume.dir), max_steps=t.max_steps, per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps, learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler, warmup_steps=t.warmup_ratio, weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm, seed=t.seed, data_seed=t.seed, logging_steps=1, report_to="none",
        disable_tqdm=True, save_strategy="steps" if t.checkpoint_every else "no",
        save_steps=t.checkpoint_every or t.max_steps, save_total_limit=t.keep_checkpoints,
        eval_strategy="steps" if evaluating else "no", eval_steps=t.eval_every if evaluating else None,
        metric_for_best_model="eval_loss" if t.early_stopping_patience else None, greater_is_better=False,
        restore_callback_states_from_checkpoint=True, bf16=hw.precision == "bf16", fp16=hw.precision == "fp16",
        use_cpu=not hw.cuda, dataloader_pin_memory=hw.cuda, remove_unused_columns=False,
        activation_checkpointing=t.gradient_checkpointing and t.method != "qlora",
        activation_checkpointing_kwargs={"use_reentrant": False}, **parallel_arguments(cfg, dist.world_size()),
    )


class TokenTrainer(Trainer):
    """Counts real (non-padding) tokens, and validates with the answer-token loss evaluation uses."""

    def __init__(self, *args, meter: "TokenMeter", validate: Callable, **kwargs):
        super().__init__(*args, **kwargs)
        self.meter, self.validate = meter, validate

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        tokens = real_tokens(inputs)
        inputs.pop(REAL_TOKENS, None)
        if model.training:
            self.meter.add(tokens)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def log(self, logs, start_time=None):
        if "loss" in logs:
            logs["tokens_per_s"] = self.meter.rate()
        super().log(logs, start_time)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        metrics = {f"{metric_key_prefix}_loss": self.validate(self.model)}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


class TokenMeter(TrainerCallback):
    """Non-padding tokens per second of training compute (the clock pauses for validation and saving).

    Under torchrun the tokens of all processes are added up, so the rate is the whole job's.
    """

    def __init__(self):
        self.tokens, self.start = 0, None
        self.total_tokens, self.total_seconds = 0, 0.0

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def rate(self) -> float:
        now = time.perf_counter()
        seconds = max(now - (self.start or now), 1e-9)
        tokens = dist.sum_over_ranks(self.tokens)
        rate = tokens / seconds
        self.total_tokens += tokens
        self.total_seconds += seconds
        self.tokens, self.start = 0, now
        return round(rate, 1)

    def overall(self) -> float:
        return round(self.total_tokens / self.total_seconds, 1) if self.total_seconds else 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        if self.start is None:
            self.start = time.perf_counter()

    def on_evaluate(self, args, state, control, **kwargs):
        self.start = None

    def on_save(self, args, state, control, **kwargs):
        self.start = None


class StepLogger(TrainerCallback):
    """Per-step metrics to the training's MLflow run, and a progress line every ~2% of the steps."""

    NAMES = {"loss": "train_loss", "eval_loss": "val_loss", "learning_rate": "learning_rate",
             "grad_norm": "grad_norm", "tokens_per_s": "tokens_per_s", "epoch": "epoch"}

    def __init__(self, cfg: Config, run: TrainingRun):
        self.run, self.max_steps = run, cfg.training.max_steps

    def on_log(self, args, state, control, logs=None, **kwargs):
        metrics = {self.NAMES[k]: v for k, v in (logs or {}).items() if k in self.NAMES and v is not None}
        step = state.global_step
        self.run.log_metrics(metrics, step=step)
        if not state.is_world_process_zero:
            return
        if "train_loss" in metrics and (step % max(1, self.max_steps // 50) == 0 or step == self.max_steps):
            print(f"step {step}/{self.max_steps}  loss {metrics['train_loss']:.4f}  "
                  f"lr {metrics.get('learning_rate', 0):.2e}  {metrics.get('tokens_per_s', 0):.0f} tok/s", flush=True)
        elif "val_loss" in metrics:
            print(f"step {step}/{self.max_steps}  validation loss {metrics['val_loss']:.4f}", flush=True)
