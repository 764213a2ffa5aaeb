"""The `tunepipe` command line: run, compile, submit, review/approve/reject, serve.

Every command turns a `TunepipeError` into one red line and exit code 1; tracebacks are for bugs.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from tunepipe.config import Config, load_config
from tunepipe.errors import TunepipeError

app = typer.Typer(help="Raw domain data to a fine-tuned, evaluated, reviewed and served LLM.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
review_app = typer.Typer(help="Dataset reviews: what is waiting for a human decision.", no_args_is_help=True)
app.add_typer(review_app, name="review")
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
            raise typer.Exit(1) from None
    return wrapper


def store_config(config: Optional[Path]) -> Config:
    """The config for commands that only need the MLflow store: a file, or the embedded default."""
    if config:
        return load_config(config)
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": str(Path(".tunepipe").resolve())}}
    if os.environ.get("MLFLOW_TRACKING_URI"):
        raw["mlflow"] = {"tracking_uri": os.environ["MLFLOW_TRACKING_URI"]}
    return Config.model_validate(raw)


@app.command()
@friendly
def run(config: Path, set_: list[str] = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache", help="Rerun every step, even unchanged ones.")):
    """Run the whole pipeline locally with the kfp local runner (the pipeline that compiles for Kubeflow)."""
    from tunepipe.pipelines.local import run_local
    from tunepipe.report import print_run_summary

    cfg = load_config(config, set_)
    console.rule(f"[bold]tunepipe run[/] {config}")
    result = run_local(cfg, cache=not no_cache)
    print_run_summary(console, cfg, result)


@app.command(name="compile")
@friendly
def compile_(config: Path, output: Path = typer.Option(Path("pipeline.yaml"), "--output", "-o"),
             set_: list[str] = SetOpt):
    """Compile the pipeline to KFP IR YAML for a Kubeflow cluster."""
    from tunepipe.pipelines.compile import compile_pipeline

    path = compile_pipeline(load_config(config, set_), output)
    console.print(f"wrote [bold]{path}[/] (upload it in the Kubeflow UI, or use `tunepipe submit`)")


@app.command()
@friendly
def submit(config: Path, host: str = typer.Option(..., help="Kubeflow Pipelines API endpoint"),
           experiment: str = typer.Option("tunepipe", help="KFP experiment name"),
           run_name: Optional[str] = typer.Option(None, help="Run name (default: generated)"),
           set_: list[str] = SetOpt):
    """Create a run on a Kubeflow Pipelines endpoint."""
    from tunepipe.pipelines.submit import submit_run

    run = submit_run(load_config(config, set_), host, experiment, run_name)
    console.print(f"created run [bold]{run['run_id']}[/] in experiment '{experiment}': {run['url']}")


@app.command()
@friendly
def approve(digest: str, reviewer: str = typer.Option(..., help="Your name"),
            note: str = typer.Option("", help="Why it may be trained on"), config: Optional[Path] = ConfigOpt):
    """Approve a dataset digest for training."""
    from tunepipe.rai.approval import approve as do_approve

    result = do_approve(store_config(config), digest, reviewer, note)
    console.print(f"[green]approved[/] {result['digest']} by {result['reviewer']}")


@app.command()
@friendly
def reject(digest: str, reviewer: str = typer.Option(..., help="Your name"),
           reason: str = typer.Option(..., help="Why it must not be trained on"),
           config: Optional[Path] = ConfigOpt):
    """Reject a dataset digest; runs on it stop at the approval gate."""
    from tunepipe.rai.approval import reject as do_reject

    result = do_reject(store_config(config), digest, reviewer, reason)
    console.print(f"[red]rejected[/] {result['digest']} by {result['reviewer']}")


@review_app.command("list")
@friendly
def review_list(config: Optional[Path] = ConfigOpt):
    """Dataset reviews and their status."""
    from tunepipe.rai.approval import list_reviews

    table = Table("digest", "status", "reviewer", "time", "note")
    for r in list_reviews(store_config(config)):
        table.add_row(r["digest"], r.get("status") or "", r.get("reviewer") or "", r.get("time") or "",
                      r.get("note") or "")
    console.print(table)


@review_app.command("show")
@friendly
def review_show(digest: str, config: Optional[Path] = ConfigOpt):
    """One review: status and where its report is."""
    import mlflow

    from tunepipe.rai.approval import approval_status, resolve_digest

    cfg = store_config(config)
    status = approval_status(cfg, resolve_digest(cfg, digest))
    if status is None:
        raise TunepipeError(f"no review for digest {digest} (see `tunepipe review list`)")
    console.print_json(json.dumps(status, default=str))
    artifacts = mlflow.get_run(status["review_run_id"]).info.artifact_uri
    console.print(f"report: {artifacts}/report/review.html (and review.md)")


@app.command()
@friendly
def serve(model_uri: str, host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          config: Optional[Path] = ConfigOpt):
    """Serve a model (models:/NAME@alias or a local dir) on an OpenAI-compatible HTTP API."""
    from tunepipe.serving.server import serve as do_serve

    do_serve(store_config(config), model_uri, host, port)


def main():
    app()


if __name__ == "__main__":
    main()
