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

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.training.contract import TrainInputs, active_run_id, check_inputs, read_summary
from tunepipe.training.parallel import ERRORS_ENV, processes, strategy, worker_args, worker_error

def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """torchrun on this node alone (`--standalone`: a local rendezvous, no master address needed)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
            "--nproc-per-node", str(nproc), *args]


def finetune(cfg: Config, train_dir: str, val_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune in this process, or in one torchrun worker per GPU; the summary rank 0 wrote."""
    from tunepipe.training import peft_backend

    nproc = processes(cfg)
    if strategy(cfg, nproc) == "none":
        return peft_backend.PEFT.finetune(cfg, TrainInputs(digest, train_dir, val_dir), out_dir)
    check_inputs(cfg, train_dir, digest)
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


def _run(command: list[str], errors: Path) -> None:
    errors.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ERRORS_ENV: str(errors), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    code = subprocess.call(command, env=env)
    if code != 0:
        raise TunepipeError(worker_error(errors) or f"the fine-tuning workers failed (torchrun exit code {code}): "
                            "see the step's log above for the first worker's traceback")
