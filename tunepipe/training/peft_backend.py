"""Fine-tuning stage, PEFT backend: LoRA, QLoRA, P-tuning, prompt tuning or full SFT with the HF Trainer.

    finetune = preflight (every cheap check) -> model (load, wrap) -> train (Trainer, resumable) -> save

Training refuses to start unless the dataset digest is approved and the split on disk carries it.
Everything else a user can get wrong is checked before a model is loaded: the method on this hardware,
the base model path, the sequence length against the model's context, the LoRA target modules, trainable
tokens left after masking, and the checkpoint to resume from. Outputs (see `methods`): `out_dir/adapter`,
`out_dir/merged`, `out_dir/finetune_summary.json`. Checkpoints go to `training.checkpoint_dir` (default
`out_dir/checkpoints`, removed once the outputs are written). Under torchrun (`launch`) every process
trains its share of each batch; only rank 0 logs to MLflow and writes checkpoint metadata and outputs.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.config.sections import TRAINING_STAGE_SECTIONS
from tunepipe.errors import TunepipeError
from tunepipe.tracking import log_metrics
from tunepipe.training import checkpoint, dist, methods
from tunepipe.training.contract import TrainInputs, check_inputs, write_summary
from tunepipe.training.preflight import Preflight
from tunepipe.training.data import TRUNCATION_POLICY, Example, encode_frame, label_tokens
from tunepipe.training.tracker import TrainingRun, training_params

def finetune(cfg: Config, train_dir: str, val_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune with `training.method` on the approved split; return steps, losses, speed and row counts.

    `train_loss` is the mean over the last fifth of the steps, `val_loss` the answer-token loss on the
    validation split after training (`val_loss_before`: before), `tokens_per_s` counts non-padding
    tokens over training compute time. A run with checkpoints continues from the latest one
    (`training.resume`), in the same MLflow run.
    """
    started = time.perf_counter()
    check_inputs(cfg, train_dir, digest)
    pre = preflight(cfg, train_dir, val_dir, out_dir, digest)
    set_threads()
    run = TrainingRun.open(pre.resume.meta.get("mlflow_run_id"), pre.resume.step)
    try:
        model = methods.wrap(cfg, methods.load_base(cfg, pre.base_dir, pre.hw), pre.base_dir)
        stats, trainer = train(cfg, model, pre, run, digest)
        written = save(cfg, model, trainer, pre, Path(out_dir))
    except BaseException:
        run.finish(failed=True)
        raise
    result = summary(cfg, pre, stats, written, digest, run, time.perf_counter() - started)
    if dist.is_main():
        write_summary(out_dir, result)
    run.log_metrics({"seconds": result["seconds"]}, step=stats["steps"])
    run.finish()
    if run.continues:
        log_metrics({"seconds": result["seconds"], "val_loss": stats["val_loss"]}, step=stats["steps"])
    if not cfg.training.checkpoint_dir and dist.is_main():
        shutil.rmtree(pre.resume.dir, ignore_errors=True)
    return result


def save(cfg: Config, model, trainer, pre: Preflight, out_dir: Path) -> dict:
    """Outputs from rank 0; under FSDP every rank first helps gather the sharded weights."""
    if dist.world_size() > 1 and cfg.training.distributed == "fsdp":
        model = methods.gather_fsdp(cfg, trainer, pre.base_dir, pre.hw)
    written = methods.save(cfg, model, pre.tokenizer, pre.base_dir, out_dir, pre.hw) if dist.is_main() else {}
    dist.barrier()
    return written


def preflight(cfg: Config, train_dir: str, val_dir: str, out_dir: str, digest: str) -> Preflight:
    """Every check that needs no model weights, in the order a user would fix them."""
    from transformers import AutoTokenizer

    from tunepipe.training.models import resolve_base_model

    hw = methods.hardware(cfg)
    resume = checkpoint.plan_resume(cfg, out_dir, digest)
    base_dir = resolve_base_model(cfg)
    methods.check_model(cfg, base_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if not tokenizer.chat_template:
        raise TunepipeError(
            f"the tokenizer of {cfg.model.base} has no chat template, which training formats every row with: "
            "use an instruct/chat model, or add a chat_template to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    answer_only = cfg.training.loss_on == "answer"
    train, truncated, dropped = read_split(cfg, tokenizer, train_dir, cfg.training.max_train_samples, answer_only)
    if label_tokens(train) == 0:
        raise TunepipeError(
            f"no trainable tokens in {train_dir}: {len(train) + dropped} rows read, {dropped} dropped because "
            f"the prompt alone fills model.max_seq_len={cfg.model.max_seq_len}, and no answer token is left "
            "in the rest. Add rows with answers, or raise model.max_seq_len"
        )
    val, _, _ = read_split(cfg, tokenizer, val_dir, cfg.training.max_val_rows)
    if cfg.training.early_stopping_patience and not val:
        raise TunepipeError(f"training.early_stopping_patience needs validation rows, and {val_dir} has none that fit")
    return Preflight(base_dir, tokenizer, hw, train, val, truncated, dropped, resume)


def read_split(cfg: Config, tokenizer, split_dir: str, limit: int | None,
               answer_only: bool = True) -> tuple[list[Example], int, int]:
    frame = artifacts.read_parquet_dir(split_dir)
    examples, truncated, dropped = encode_frame(
        cfg, tokenizer, frame.head(limit) if limit else frame, cfg.model.max_seq_len, answer_only
    )
    if (truncated or dropped) and dist.is_main():
        print(f"{split_dir}: {truncated} rows cut to model.max_seq_len={cfg.model.max_seq_len}, {dropped} "
              f"dropped ({TRUNCATION_POLICY})", flush=True)
    return examples, truncated, dropped


def set_threads() -> None:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


def train(cfg: Config, model, pre: Preflight, run: TrainingRun, digest: str) -> tuple[dict, object]:
    """Run (or continue) the Trainer to `training.max_steps`; validation before and after.

    Returns the stats and the trainer. `tokens_per_s` adds up the tokens of all processes.
    """
    from tunepipe.training.trainer import make_trainer

    counts = methods.parameter_counts(model)
    val_before = begin(cfg, model, pre, run, digest, counts)
    trainer, meter = make_trainer(cfg, model, pre, run, val_loss)
    run.start_system_metrics(cfg.training.system_metrics_interval_s)
    trainer.train(resume_from_checkpoint=str(pre.resume.checkpoint) if pre.resume.checkpoint else None)
    steps = trainer.state.global_step
    val_after = val_loss(model, pre)
    run.log_metrics({"val_loss": val_after}, step=steps)
    if dist.is_main():
        print(f"validation loss {val_before} -> {val_after}", flush=True)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    tail = losses[-max(1, len(losses) // 5):]
    return {
        "steps": steps,
        "stopped_early": steps < cfg.training.max_steps,
        "resumed_from_step": pre.resume.step,
        "train_loss": round(sum(tail) / len(tail), 4),
        "first_train_loss": round(losses[0], 4),
        "val_loss_before": val_before,
        "val_loss": val_after,
        "tokens_per_s": meter.overall(),
        **counts,
    }, trainer


def begin(cfg: Config, model, pre: Preflight, run: TrainingRun, digest: str, counts: dict) -> float | None:
    """A fresh start records the run with its checkpoints and logs params; a resume only notes itself.

    Returns the validation loss before any training.
    """
    if pre.resume.checkpoint is not None:
        if dist.is_main():
            print(f"resuming from {pre.resume.checkpoint} (step {pre.resume.step})", flush=True)
            run_id = run.run_id or pre.resume.meta.get("mlflow_run_id")
            checkpoint.write_meta(pre.resume.dir, {**pre.resume.meta, "mlflow_run_id": run_id})
        run.log_dict(stage_config(cfg), f"config/resolved_config_resume_{pre.resume.step}.json")
        return pre.resume.meta.get("val_loss_before")
    val_before = val_loss(model, pre)
    if dist.is_main():
        checkpoint.start_fresh(pre.resume, {"mlflow_run_id": run.run_id, "val_loss_before": val_before,
                                            "config": checkpoint.shaping_config(cfg, digest)})
    dist.barrier()
    log_start(cfg, pre, run, counts, digest, val_before)
    return val_before


def stage_config(cfg: Config) -> dict:
    """The sections fine-tuning reads: the pipeline hands it the others at their defaults."""
    return cfg.sections(TRAINING_STAGE_SECTIONS)


def log_start(cfg: Config, pre: Preflight, run: TrainingRun, counts: dict, digest: str, val_before) -> None:
    run.log_params(training_params(cfg, {
        "base_dir": pre.base_dir, "dataset_digest": digest, "precision_resolved": pre.hw.precision,
        "device": "cuda" if pre.hw.cuda else "cpu", "world_size": dist.world_size(),
        "train_rows": len(pre.train), "val_rows": len(pre.val),
        "train_label_tokens": label_tokens(pre.train), "truncation_policy": TRUNCATION_POLICY,
        "truncated_rows": pre.truncated, "dropped_rows": pre.dropped, **counts,
    }))
    run.log_dict(stage_config(cfg), "config/resolved_config.json")
    run.set_tags({"tunepipe.checkpoint_dir": str(pre.resume.dir)})
    if val_before is not None:
        run.log_metrics({"val_loss": val_before}, step=0)


def val_loss(model, pre: Preflight) -> float | None:
    from tunepipe.evaluation.metrics import answer_token_loss

    if not pre.val:
        return None
    return round(answer_token_loss(model, pre.val, pre.tokenizer.pad_token_id), 4)


def summary(cfg: Config, pre: Preflight, stats: dict, written: dict, digest: str, run: TrainingRun,
            seconds: float) -> dict:
    return {
        **stats,
        "method": cfg.training.method,
        "precision": pre.hw.precision,
        "packing": cfg.training.packing,
        "outputs": written,
        "train_rows": len(pre.train),
        "val_rows": len(pre.val),
        "truncated": pre.truncated,
        "dropped_too_long": pre.dropped,
        "truncation": {"policy": TRUNCATION_POLICY, "truncated_rows": pre.truncated, "dropped_rows": pre.dropped},
        "world_size": dist.world_size(),
        "training_run_id": run.run_id,
        "seconds": round(seconds, 2),
        "digest": digest,
        "base_model": cfg.model.base,
    }


class PeftBackend:
    """The `contract.Backend` protocol over `finetune` (one process; `launch` adds torchrun)."""

    def finetune(self, cfg: Config, inputs: TrainInputs, out_dir: str) -> dict:
        return finetune(cfg, inputs.train_dir, inputs.val_dir, out_dir, inputs.digest)


PEFT = PeftBackend()
