"""Reading a project config: YAML, `key=value` overrides, validation with errors that name the key, paths.

`load_config(path, overrides)` is the only way the CLI and the pipeline read a config, so a bad key
or value fails the same way everywhere: a `TunepipeError` that names the key and the file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tunepipe.config.sections import Config
from tunepipe.errors import TunepipeError


def parse_override(item: str) -> tuple[list[str], Any]:
    """`training.max_steps=5` -> (["training", "max_steps"], 5); the value is read as YAML."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise TunepipeError(f"override {item!r} is not key=value (example: --set training.max_steps=5)")
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for item in overrides:
        keys, value = parse_override(item)
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise TunepipeError(f"override {item!r}: {key!r} is not a section")
        node[keys[-1]] = value
    return raw


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        what = "unknown key (check the spelling)" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {where}: {what}")
    return "\n".join(lines)


def validate_config(raw: dict, source: str = "") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise TunepipeError(_describe(err, source)) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise TunepipeError(f"config file {path} not found (try examples/demo.yaml)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise TunepipeError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise TunepipeError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def resolve_paths(cfg: Config, base: Path) -> Config:
    """Make data paths and the data dir absolute, so every pipeline step sees the same files."""
    def absolute(p: str) -> str:
        return p if "://" in p or Path(p).is_absolute() else str((base / p).resolve())

    cfg = cfg.model_copy(deep=True)
    cfg.data.paths = [absolute(p) for p in cfg.data.paths]
    cfg.project.data_dir = absolute(cfg.project.data_dir)
    if cfg.split.fixed_test_dir:
        cfg.split.fixed_test_dir = absolute(cfg.split.fixed_test_dir)
    if _is_local_path(cfg.model.base):
        cfg.model.base = absolute(cfg.model.base)
    return cfg


def _is_local_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or Path(value).exists()


def load_config(path: str | Path, overrides: list[str] | None = None, base: Path | None = None) -> Config:
    """Read, override, validate and resolve relative paths against `base` (default: the cwd)."""
    raw = apply_overrides(read_yaml(path), overrides or [])
    cfg = validate_config(raw, str(path))
    return resolve_paths(cfg, base or Path.cwd())


def config_digest(cfg: Config) -> str:
    return hashlib.sha256(json.dumps(cfg.model_dump(), sort_keys=True).encode()).hexdigest()[:16]
