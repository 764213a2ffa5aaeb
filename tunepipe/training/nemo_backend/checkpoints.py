"""Around the NeMo run: import the HF checkpoint, find the last checkpoint, export to HF (adapter or merged), summarise.
"""

from __future__ import annotations

import re
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.training.contract import active_run_id
from tunepipe.training.nemo_backend.recipe import recipe_module


def import_base(llm, run, spec: dict) -> None:
    """The HF base model as a NeMo checkpoint at spec['restore_path'] (once per work dir)."""
    if Path(spec["restore_path"]).exists():
        return
    model = recipe_module(llm, spec["recipe"]).model()
    run.run(run.Partial(llm.import_ckpt, model=model, source=f"hf://{spec['base_dir']}",
                        output_path=spec["restore_path"]),
            executor=run.LocalExecutor(), name="import")


def _checkpoint_step(path: Path) -> tuple[int, str]:
    match = re.search(r"step=(\d+)", path.name)
    return (int(match.group(1)) if match else -1, str(path))


def last_checkpoint(run_dir: str) -> Path:
    """The `*-last` checkpoint with the highest step in its name (NeMo's naming), never by file time."""
    found = sorted((p for p in Path(run_dir).rglob("*-last") if p.is_dir()), key=_checkpoint_step)
    if not found:
        raise TunepipeError(f"NeMo wrote no final checkpoint (*-last) under {run_dir}: see the training log above")
    return found[-1]


def export(llm, spec: dict, tokenizer) -> dict:
    """adapter/ (HF PEFT) for lora, merged/ (HF) for sft and merged lora, each with the tokenizer."""
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(spec["run_dir"])
    if spec["peft_scheme"] == "none":
        llm.export_ckpt(path=str(last), target="hf", output_path=str(out / "merged"))
        save_tokenizer(tokenizer, out / "merged", "left")
        return {"adapter": False, "merged": True}
    llm.peft.export_lora(lora_checkpoint_path=str(last), output_path=str(out / "adapter"))
    save_tokenizer(tokenizer, out / "adapter", "right")
    if spec["merge"]:
        merged_nemo = Path(spec["work_dir"]) / "merged_nemo"
        llm.peft.merge_lora(lora_checkpoint_path=str(last), output_path=str(merged_nemo))
        llm.export_ckpt(path=str(merged_nemo), target="hf", output_path=str(out / "merged"))
        save_tokenizer(tokenizer, out / "merged", "left")
    return {"adapter": True, "merged": spec["merge"]}


def save_tokenizer(tokenizer, target: Path, padding_side: str) -> None:
    side = tokenizer.padding_side
    tokenizer.padding_side = padding_side
    tokenizer.save_pretrained(target)
    tokenizer.padding_side = side


def read_losses(run_dir: str, tag: str) -> list[float]:
    """Scalars NeMo logged to TensorBoard under `tag` (empty when tensorboard is not importable)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return []
    values = []
    for events in sorted(Path(run_dir).rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        if tag in acc.Tags().get("scalars", []):
            values += [e.value for e in acc.Scalars(tag)]
    return values


def mean_tail(values: list[float]) -> float | None:
    if not values:
        return None
    tail = values[-max(1, len(values) // 5):]
    return round(sum(tail) / len(tail), 4)


def summary(cfg: Config, spec: dict, rows: dict, written: dict, digest: str, seconds: float) -> dict:
    """The PEFT backend's summary keys where they apply; what NeMo does not report is None."""
    train_losses = read_losses(spec["run_dir"], "reduced_train_loss")
    val_losses = read_losses(spec["run_dir"], "val_loss")
    return {
        "backend": "nemo",
        "steps": spec["max_steps"],
        "train_loss": mean_tail(train_losses),
        "first_train_loss": round(train_losses[0], 4) if train_losses else None,
        "val_loss": round(val_losses[-1], 4) if val_losses else None,
        "tokens_per_s": None,
        "method": cfg.training.method,
        "precision": "bf16",
        "packing": spec["packed_sequence"],
        "outputs": written,
        "train_rows": rows["training.jsonl"],
        "val_rows": rows["validation.jsonl"],
        "nemo": {k: spec[k] for k in ("recipe", "peft_scheme", "tensor_parallel", "pipeline_parallel",
                                      "num_nodes", "gpus_per_node", "global_batch_size", "micro_batch_size")},
        "training_run_id": active_run_id(),
        "seconds": round(seconds, 2),
        "digest": digest,
        "base_model": cfg.model.base,
    }
