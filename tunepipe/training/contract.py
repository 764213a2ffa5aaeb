"""What every fine-tuning backend shares, below all of them: the backend protocol, the inputs it is given,
the output contract (`adapter/`, `merged/`, `finetune_summary.json`) and the input checks.

    finetune(cfg, inputs, out_dir) -> summary

Backends (`peft_backend`, `nemo_backend`) and the launchers (`launch`, `trainjob`, `worker`) import from
here and never from one another, so there is no import cycle and no backend reaches into another's
internals. Evaluation, registry and serving read the same files whichever backend wrote them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

SUMMARY_FILE = "finetune_summary.json"
ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"


@dataclass(frozen=True)
class TrainInputs:
    """The approved split a backend trains on: PEFT reads the Parquet splits, NeMo its JSONL files."""
    digest: str
    train_dir: str = ""
    val_dir: str = ""
    nemo_dir: str = ""


class Backend(Protocol):
    def finetune(self, cfg: Config, inputs: TrainInputs, out_dir: str) -> dict: ...


def check_inputs(cfg: Config, split_dir: str, digest: str) -> None:
    """Approval and digest checks, before anything else: train only on exactly what a human approved."""
    from tunepipe.governance.approval import require_approved

    require_approved(cfg, digest)
    split_digest = artifacts.read_summary(split_dir).get("digest")
    if split_digest != digest:
        raise TunepipeError(
            f"the training split in {split_dir} has digest {split_digest or '(none)'}, but the approved "
            f"digest is {digest}: re-run the split stage on the approved dataset"
        )


def write_summary(out_dir: str | Path, summary: dict) -> None:
    (Path(out_dir) / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))


def read_summary(out_dir: str | Path) -> dict:
    path = Path(out_dir) / SUMMARY_FILE
    if not path.is_file():
        raise TunepipeError(f"fine-tuning finished without writing {path}: see the step's log")
    return json.loads(path.read_text())


def active_run_id() -> str | None:
    """The MLflow run this process logs to, without importing MLflow where nothing did."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow else None
    return run.info.run_id if run else None
