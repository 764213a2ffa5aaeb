"""Checkpoints and resume: where checkpoints live, which one to continue from, and whether it fits this run.

A checkpoint dir holds the Trainer's `checkpoint-<step>/` dirs (complete once `trainer_state.json` is in
them: the Trainer writes it last) and `tunepipe_run.json`: the MLflow run id, the dataset digest and the
config that shapes the training. A restart continues the same MLflow run, and a checkpoint made with a
different config or dataset is refused before any model is loaded.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

RUN_FILE = "tunepipe_run.json"
STATE_FILE = "trainer_state.json"
CHECKPOINT = re.compile(r"checkpoint-(\d+)")
# training keys a resumed run may change: where and how often it saves, logs and writes outputs
FREE_KEYS = {
    "resume", "checkpoint_dir", "checkpoint_every", "keep_checkpoints", "system_metrics_interval_s",
    "merge", "gradient_checkpointing", "max_val_rows",
}


@dataclass
class Resume:
    """Where this run writes checkpoints and what it continues from (`checkpoint` None: a fresh start)."""

    dir: Path
    checkpoint: Path | None = None
    step: int = 0
    meta: dict = field(default_factory=dict)


def checkpoint_dir(cfg: Config, out_dir: str | Path) -> Path:
    return Path(cfg.training.checkpoint_dir or Path(out_dir) / "checkpoints")


def shaping_config(cfg: Config, digest: str) -> dict:
    """What a checkpoint's training depends on: the data, the base model and the training settings."""
    training = {k: v for k, v in cfg.training.model_dump().items() if k not in FREE_KEYS}
    return {"digest": digest, "model": cfg.model.model_dump(), "training": training}


def plan_resume(cfg: Config, out_dir: str | Path, digest: str) -> Resume:
    """Decide from `training.resume` (auto | never | a checkpoint dir) what this run continues from."""
    directory = checkpoint_dir(cfg, out_dir)
    mode = cfg.training.resume
    if mode == "never":
        return Resume(directory)
    checkpoint = latest_checkpoint(directory) if mode == "auto" else named_checkpoint(Path(mode))
    if checkpoint is None:
        return Resume(directory)
    meta = read_meta(checkpoint.parent)
    changed = differences(meta.get("config", {}), shaping_config(cfg, digest))
    if changed:
        raise TunepipeError(
            f"checkpoint {checkpoint} was made with a different config or dataset ({'; '.join(changed[:6])}). "
            "Restore that config to continue it, or set training.resume=never to start over "
            f"(this deletes the checkpoints in {directory})"
        )
    return Resume(directory, checkpoint, step_of(checkpoint), meta)


def named_checkpoint(path: Path) -> Path:
    if not (path / STATE_FILE).is_file():
        raise TunepipeError(
            f"training.resume={str(path)!r} is not a complete checkpoint (no {STATE_FILE} in it): name a "
            "checkpoint-<step> dir, or use training.resume=auto or never"
        )
    return path


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint in `directory`, if any (one cut short by a kill is skipped)."""
    complete = [p for p in directory.glob("checkpoint-*") if CHECKPOINT.fullmatch(p.name) and _complete(p)]
    return max(complete, key=step_of, default=None)


def _complete(path: Path) -> bool:
    try:
        json.loads((path / STATE_FILE).read_text())
        return True
    except (OSError, ValueError):
        return False


def step_of(checkpoint: Path) -> int:
    return int(CHECKPOINT.fullmatch(checkpoint.name).group(1))


def read_meta(directory: Path) -> dict:
    path = directory / RUN_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise TunepipeError(
            f"{directory} holds no readable {RUN_FILE}, so it was not written by tunepipe's training: "
            "set training.resume=never, or point training.resume at a tunepipe checkpoint"
        ) from None


def start_fresh(resume: Resume, meta: dict) -> None:
    """Clear checkpoints of an earlier run from the checkpoint dir and record this run's metadata."""
    resume.dir.mkdir(parents=True, exist_ok=True)
    for old in resume.dir.glob("checkpoint-*"):
        if old.is_dir() and CHECKPOINT.fullmatch(old.name):
            shutil.rmtree(old)
    write_meta(resume.dir, meta)


def write_meta(directory: Path, meta: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{RUN_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    tmp.replace(directory / RUN_FILE)


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """`key: old -> new` for every leaf that differs between two nested dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out
