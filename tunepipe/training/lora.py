"""LoRA fine-tuning (PEFT) of the base model on the approved training split, as one readable recipe.

    finetune = check inputs -> setup (model, tokenizer, data) -> train (explicit loop) -> save

Training refuses to start unless the dataset digest is approved and the split on disk carries that
digest. It writes `out_dir/adapter` (PEFT format), `out_dir/merged` (a plain HF checkpoint with the
adapter merged in, what evaluation, the registry and serving use) and `out_dir/finetune_summary.json`.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.tracking import log_metrics
from tunepipe.training.data import Example, collate, encode_frame

SUMMARY_FILE = "finetune_summary.json"


@dataclass
class Setup:
    model: object
    tokenizer: object
    train: list[Example]
    val: list[Example]
    truncated: int
    dropped: int
    base_dir: str


def finetune(cfg: Config, train_dir: str, val_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune with LoRA on the approved split; return steps, losses, speed and row counts.

    `train_loss` is the mean over the last fifth of the steps, `val_loss` the answer-token loss on
    the validation split after training (`val_loss_before`: before), `tokens_per_s` counts
    non-padding tokens.
    """
    check_inputs(cfg, train_dir, digest)
    started = time.perf_counter()
    set_threads()
    setup = setup_run(cfg, train_dir, val_dir)
    log_params(cfg, setup, digest)
    stats = train(cfg, setup)
    save(setup, Path(out_dir))
    result = {
        **stats,
        "train_rows": len(setup.train),
        "val_rows": len(setup.val),
        "truncated": setup.truncated,
        "dropped_too_long": setup.dropped,
        "seconds": round(time.perf_counter() - started, 2),
        "digest": digest,
        "base_model": cfg.model.base,
    }
    (Path(out_dir) / SUMMARY_FILE).write_text(json.dumps(result, indent=2))
    log_metrics({"seconds": result["seconds"], "truncated_rows": setup.truncated})
    return result


def check_inputs(cfg: Config, train_dir: str, digest: str) -> None:
    """Approval and digest checks, before any model is loaded."""
    from tunepipe.rai.approval import require_approved

    require_approved(cfg, digest)
    split_digest = artifacts.read_summary(train_dir).get("digest")
    if split_digest != digest:
        raise TunepipeError(
            f"the training split in {train_dir} has digest {split_digest or '(none)'}, but the approved "
            f"digest is {digest}: re-run the split stage on the approved dataset"
        )


def set_threads() -> None:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(max(1, cores))


def setup_run(cfg: Config, train_dir: str, val_dir: str) -> Setup:
    """Load the base model, wrap it with LoRA, and tokenize the splits."""
    import torch

    from tunepipe.training.models import load_model_and_tokenizer, resolve_base_model

    base_dir = resolve_base_model(cfg)
    torch.manual_seed(cfg.training.seed)
    model, tokenizer = load_model_and_tokenizer(base_dir, padding_side="right")
    model = wrap_lora(cfg, model)
    frame = artifacts.read_parquet_dir(train_dir)
    if cfg.training.max_train_samples:
        frame = frame.head(cfg.training.max_train_samples)
    train_examples, truncated, dropped = encode_frame(cfg, tokenizer, frame, cfg.model.max_seq_len)
    if not train_examples:
        raise TunepipeError(
            f"no trainable rows in {train_dir} ({len(frame)} rows read, {dropped} with a prompt longer "
            f"than model.max_seq_len={cfg.model.max_seq_len}): add data or raise model.max_seq_len"
        )
    val_frame = artifacts.read_parquet_dir(val_dir).head(cfg.training.max_val_rows)
    val_examples, _, _ = encode_frame(cfg, tokenizer, val_frame, cfg.model.max_seq_len)
    return Setup(model, tokenizer, train_examples, val_examples, truncated, dropped, base_dir)


def wrap_lora(cfg: Config, model):
    """A PEFT LoRA model; a clear error when a target module does not exist in this architecture."""
    from peft import LoraConfig, get_peft_model

    lora = cfg.training.lora
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    missing = [m for m in lora.target_modules if m not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
        raise TunepipeError(
            f"training.lora.target_modules {missing} not found in the model {model.config.model_type!r}; "
            f"its linear layers are: {', '.join(linear)}"
        )
    peft_config = LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules), task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, peft_config)
    model.config.use_cache = False
    return model


def train(cfg: Config, setup: Setup) -> dict:
    """AdamW + linear warmup/decay over max_steps optimizer steps; loss on answer tokens only."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    t = cfg.training
    model, pad_id = setup.model, setup.tokenizer.pad_token_id
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=0.0)
    warmup = math.ceil(t.warmup_ratio * t.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, t.max_steps)
    batches = _batches(setup.train, t.batch_size, t.seed)
    val_start = _val_loss(model, setup)
    log_metrics({"val_loss": val_start}, step=0)
    model.train()
    losses, tokens, elapsed = [], 0, 0.0
    for step in range(1, t.max_steps + 1):
        tick = time.perf_counter()
        step_loss, step_tokens = 0.0, 0
        for _ in range(t.gradient_accumulation_steps):
            batch = collate(next(batches), pad_id)
            loss = model(**batch).loss / t.gradient_accumulation_steps
            loss.backward()
            step_loss += loss.item()
            step_tokens += int(batch["attention_mask"].sum())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - tick
        elapsed, tokens = elapsed + seconds, tokens + step_tokens
        losses.append(step_loss)
        if step % max(1, t.max_steps // 50) == 0 or step == t.max_steps:
            print(f"step {step}/{t.max_steps}  loss {step_loss:.4f}  lr {scheduler.get_last_lr()[0]:.2e}  "
                  f"{step_tokens / seconds:.0f} tok/s", flush=True)
        log_metrics(
            {"train_loss": step_loss, "learning_rate": scheduler.get_last_lr()[0],
             "tokens_per_s": step_tokens / seconds}, step=step,
        )
    val_end = _val_loss(model, setup)
    print(f"validation loss {val_start:.4f} -> {val_end:.4f}", flush=True)
    log_metrics({"val_loss": val_end}, step=t.max_steps)
    tail = losses[-max(1, len(losses) // 5):]
    return {
        "steps": t.max_steps,
        "train_loss": round(sum(tail) / len(tail), 4),
        "first_train_loss": round(losses[0], 4),
        "val_loss_before": val_start,
        "val_loss": val_end,
        "tokens_per_s": round(tokens / elapsed, 1),
    }


def _batches(examples: list[Example], batch_size: int, seed: int):
    """Endless shuffled batches (reshuffled every epoch, deterministic for a seed)."""
    rng = random.Random(seed)
    order: list[int] = []
    while True:
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        yield [examples[i] for i in order[:batch_size]]
        del order[:batch_size]


def _val_loss(model, setup: Setup) -> float | None:
    from tunepipe.evaluation.metrics import answer_token_loss

    if not setup.val:
        return None
    return round(answer_token_loss(model, setup.val, setup.tokenizer.pad_token_id), 4)


def save(setup: Setup, out_dir: Path) -> None:
    """Adapter in PEFT format, then the merged model (a plain checkpoint) with the tokenizer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    setup.model.save_pretrained(out_dir / "adapter")
    setup.tokenizer.save_pretrained(out_dir / "adapter")
    merged = setup.model.merge_and_unload()
    merged.config.use_cache = True
    merged.save_pretrained(out_dir / "merged")
    setup.tokenizer.padding_side = "left"
    setup.tokenizer.save_pretrained(out_dir / "merged")


def log_params(cfg: Config, setup: Setup, digest: str) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    t = cfg.training
    mlflow.log_params({
        "base_model": cfg.model.base, "base_dir": setup.base_dir, "dataset_digest": digest,
        "method": t.method, "lora_r": t.lora.r, "lora_alpha": t.lora.alpha, "lora_dropout": t.lora.dropout,
        "lora_target_modules": ",".join(t.lora.target_modules), "max_steps": t.max_steps,
        "learning_rate": t.learning_rate, "batch_size": t.batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps, "warmup_ratio": t.warmup_ratio,
        "seed": t.seed, "max_seq_len": cfg.model.max_seq_len, "train_rows": len(setup.train),
        "val_rows": len(setup.val), "trainable_params": sum(p.numel() for p in setup.model.parameters() if p.requires_grad),
    })
