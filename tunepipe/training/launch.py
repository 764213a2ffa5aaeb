"""One pod, many GPUs: the fine-tune stage re-launched under torchrun, one process per GPU.

    finetune(cfg, ...)   one process:  peft_backend.finetune, here
                         N processes:  python -m torch.distributed.run --standalone --nproc-per-node N
                                           -m tunepipe.training.worker ...

The HF Trainer in every worker picks DDP (or FSDP through accelerate, `training.distributed=fsdp`) up
from the environment torchrun sets. Rank 0 alone logs to this stage's MLflow run and writes checkpoint
metadata, outputs and the summary, which the launcher reads back. Across nodes the same worker runs
under the torchrun of a Kubeflow Trainer TrainJob (`trainjob`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

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


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """torchrun on this node alone (`--standalone`: a local rendezvous, no master address needed)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
            "--nproc-per-node", str(nproc), *args]


def finetune(cfg: Config, train_dir: str, val_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune in this process, or in one torchrun worker per GPU; the summary rank 0 wrote."""
    from tunepipe.training import peft_backend

    nproc = processes(cfg)
    if strategy(cfg, nproc) == "none":
        return peft_backend.finetune(cfg, train_dir, val_dir, out_dir, digest)
    peft_backend.check_inputs(cfg, train_dir, digest)
    work = Path(tempfile.mkdtemp(prefix="tunepipe-torchrun-"))
    try:
        config_path = work / "config.json"
        config_path.write_text(cfg.to_json())
        args = worker_args(str(config_path), train_dir, val_dir, out_dir, digest, active_run_id())
        print(f"fine-tuning with {nproc} processes ({strategy(cfg, nproc)}) under torchrun", flush=True)
        _run(torchrun_command(nproc, args), work / "errors")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return read_summary(out_dir)


def active_run_id() -> str | None:
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow else None
    return run.info.run_id if run else None


def _run(command: list[str], errors: Path) -> None:
    errors.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ERRORS_ENV: str(errors), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    code = subprocess.call(command, env=env)
    if code != 0:
        raise TunepipeError(worker_error(errors) or f"the fine-tuning workers failed (torchrun exit code {code}): "
                            "see the step's log above for the first worker's traceback")


def worker_error(errors: Path) -> str | None:
    """The message a worker recorded for a TunepipeError (the lowest rank's), if any."""
    files = sorted(errors.glob("rank-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    return json.loads(files[0].read_text())["message"] if files else None


def read_summary(out_dir: str) -> dict:
    from tunepipe.training.peft_backend import SUMMARY_FILE

    path = Path(out_dir) / SUMMARY_FILE
    if not path.is_file():
        raise TunepipeError(f"the fine-tuning workers finished without writing {path}: see the step's log")
    return json.loads(path.read_text())
