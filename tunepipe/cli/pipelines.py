"""`tunepipe run | compile | submit`: the pipeline locally, as KFP IR, or on a Kubeflow endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import ConfigOpt, SetOpt, console, friendly, store_config, with_launcher
from tunepipe.config import load_config

app = typer.Typer()


@app.command()
@friendly
def run(config: Path, set_: list[str] = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache", help="Rerun every step, even unchanged ones."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Stream every step's full output.")):
    """Run the whole pipeline locally with the kfp local runner (the pipeline that compiles for Kubeflow).

    One line per step shows its state, time and key figures; each step's full output is written to
    DATA_DIR/logs/<run>/<step>.log."""
    from tunepipe.pipelines.local import run_local
    from tunepipe.report import print_run_summary

    cfg = with_launcher(load_config(config, set_))
    console.rule(f"[bold]tunepipe run[/] {config}")
    result = run_local(cfg, cache=not no_cache, verbose=verbose)
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

    run = submit_run(with_launcher(load_config(config, set_)), host, experiment, run_name)
    console.print(f"created run [bold]{run['run_id']}[/] in experiment '{experiment}': {run['url']}")


@app.command()
@friendly
def ui(config: Optional[Path] = ConfigOpt, port: int = typer.Option(5000, help="Port on 127.0.0.1")):
    """Open the MLflow UI on the project's store (127.0.0.1) and list the latest run's HTML reports."""
    from tunepipe.mlflow_ui import latest_reports, start_ui, stop_ui
    from tunepipe.tracking import tracking_uri

    cfg = store_config(config)
    uri = tracking_uri(cfg)
    remote = uri.startswith(("http://", "https://"))
    url = uri.rstrip("/") if remote else f"http://127.0.0.1:{port}"
    proc = None if remote else start_ui(cfg, port)
    try:
        console.print(f"MLflow UI  [bold]{url}[/]  (store {uri})")
        run, reports = latest_reports(cfg, url)
        if run is None:
            console.print("no pipeline run in this store yet: `tunepipe run CONFIG` makes one")
        else:
            console.print(f"latest run {run}")
        for r in reports:
            console.print(f"  {r.stage:<14} {r.artifact}\n    {r.link}" + (f"\n    {r.file}" if r.file else ""))
        if proc is not None:
            console.print("Ctrl-C stops the UI")
            proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None:
            stop_ui(proc)
