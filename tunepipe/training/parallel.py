"""How many processes train and how they share the work: shared by the one-pod launcher, the torchrun
worker, the Trainer arguments and the Kubeflow Trainer TrainJob (a leaf: it imports no backend)."""

from __future__ import annotations

import json
from pathlib import Path

from tunepipe.config import Config

WORKER = "tunepipe.training.worker"
ERRORS_ENV = "TUNEPIPE_WORKER_ERRORS"


def processes(cfg: Config) -> int:
    """Processes per node: `training.processes`, else one per GPU this pod sees, else 1."""
    if cfg.training.processes:
        return cfg.training.processes
    import torch

    return max(1, torch.cuda.device_count())


def strategy(cfg: Config, nproc: int) -> str:
    """none | ddp | fsdp: how `nproc` processes share the training."""
    mode = cfg.training.distributed
    if mode == "none" or nproc == 1:
        return "none"
    return "ddp" if mode == "auto" else mode


def fsdp_arguments(cfg: Config) -> dict:
    """TrainingArguments for FSDP2 through accelerate: every decoder layer a shard unit, full state dict saves."""
    return {
        "fsdp": "full_shard auto_wrap",
        "fsdp_config": {
            "version": 2,
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "reshard_after_forward": True,
            "state_dict_type": "FULL_STATE_DICT",
            "cpu_ram_efficient_loading": False,
            "activation_checkpointing": cfg.training.gradient_checkpointing,
        },
    }


def parallel_arguments(cfg: Config, world_size: int) -> dict:
    """Extra TrainingArguments for a worker in a world of `world_size` processes."""
    if world_size > 1 and cfg.training.distributed == "fsdp":
        return fsdp_arguments(cfg)
    return {"ddp_find_unused_parameters": False} if world_size > 1 else {}


def worker_args(config_path: str, train_dir: str, val_dir: str, out_dir: str, digest: str,
                run_id: str | None) -> list[str]:
    args = ["-m", WORKER, "--config", config_path, "--train", train_dir, "--val", val_dir,
            "--out", out_dir, "--digest", digest]
    return args + (["--run-id", run_id] if run_id else [])


def worker_error(errors: Path) -> str | None:
    """The message a worker recorded for a TunepipeError (the lowest rank's), if any."""
    files = sorted(errors.glob("rank-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    return json.loads(files[0].read_text())["message"] if files else None
