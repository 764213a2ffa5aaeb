"""What every verb group shares: consoles, the one-line error wrapper, the store-only config, options."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from tunepipe.config import Config, load_config
from tunepipe.errors import TunepipeError

console = Console(soft_wrap=True)
err_console = Console(stderr=True)

SetOpt = typer.Option([], "--set", "-s", help="Override a config key: --set training.max_steps=5")
ConfigOpt = typer.Option(None, "--config", "-c", help="Project config (for its MLflow store).")


def friendly(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TunepipeError as err:
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(getattr(err, "exit_code", 1)) from None
    return wrapper


def store_config(config: Optional[Path]) -> Config:
    """The config for commands that only need the MLflow store: a file, or the embedded default."""
    if config:
        return load_config(config)
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": str(Path(".tunepipe").resolve())}}
    if os.environ.get("MLFLOW_TRACKING_URI"):
        raw["mlflow"] = {"tracking_uri": os.environ["MLFLOW_TRACKING_URI"]}
    return Config.model_validate(raw)


def with_launcher(cfg: Config) -> Config:
    """Record who launched the run (for four-eyes approvals): pods have no $USER, the CLI does."""
    if not cfg.approval.launched_by:
        import getpass

        try:
            cfg.approval.launched_by = getpass.getuser()
        except (KeyError, OSError):
            pass
    return cfg
