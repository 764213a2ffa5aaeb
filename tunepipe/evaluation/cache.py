"""Scores of models that do not change (the base model, a registered version), kept between runs.

Key: the model's identity (a base directory with its files' sizes and times, or a registry version and its
run), the test set's content digest and every setting that changes a score (evaluation settings but the
gate, sequence length, system prompt). A rerun, or a scheduled run on the fixed test set, then scores only
the new candidate. Entries are JSON files under `<data_dir>/eval_cache/`, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tunepipe.config import Config

VERSION = 1


def settings(cfg: Config) -> dict:
    ev = cfg.evaluation.model_dump(exclude={"gate", "cache_scores", "bootstrap_resamples"})
    return {**ev, "max_seq_len": cfg.model.max_seq_len, "system_prompt": cfg.model.system_prompt, "v": VERSION}


def dir_identity(path: str | Path) -> str:
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    stats = [(str(p.relative_to(path)), p.stat().st_size, int(p.stat().st_mtime)) for p in files]
    return f"{Path(path).resolve()}:{hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]}"


def key(cfg: Config, identity: str, test_digest: str) -> str:
    raw = json.dumps({"model": identity, "test": test_digest, "settings": settings(cfg)}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def _path(cfg: Config, cache_key: str) -> Path:
    return Path(cfg.project.data_dir).resolve() / "eval_cache" / f"{cache_key}.json"


def load(cfg: Config, cache_key: str) -> dict | None:
    path = _path(cfg, cache_key)
    if not cfg.evaluation.cache_scores or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def save(cfg: Config, cache_key: str, scores: dict) -> None:
    if not cfg.evaluation.cache_scores:
        return
    path = _path(cfg, cache_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(scores, allow_nan=True))
    os.replace(tmp, path)
