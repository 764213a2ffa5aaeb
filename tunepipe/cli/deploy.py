"""`tunepipe deploy`: a registered version as a trtllm-serve endpoint on the cluster (tunepipe.deploy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import SetOpt, console, friendly

app = typer.Typer()


@app.command()
@friendly
def deploy(ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION in the registry"),
           config: Path = typer.Option(..., "--config", "-c", help="Project config"),
           namespace: Optional[str] = typer.Option(None, help="default: serving.trtllm.namespace"),
           out: Optional[Path] = typer.Option(None, help="Write manifests.yaml and trtllm.yaml here"),
           apply: bool = typer.Option(False, "--apply", help="Apply through the Kubernetes API"),
           stage: Optional[str] = typer.Option(None, help="staging or production (default: production for @champion)"),
           overrides: list[str] = SetOpt):
    """Deploy a registered model with trtllm-serve (Deployment, or KServe with serving.kserve=true)."""
    from tunepipe.config import load_config
    from tunepipe.deploy.deploy import deploy as do_deploy

    if not out and not apply:
        raise typer.BadParameter("pass --out DIR (write the manifests), --apply, or both")
    summary = do_deploy(load_config(config, overrides), ref, namespace, out, apply, stage)
    console.print(f"{summary['model']} v{summary['version']} -> {summary['stage']} "
                  f"{summary['namespace']}/{summary['name']}: TP {summary['tensor_parallel']} x PP "
                  f"{summary['pipeline_parallel']}, max_batch_size {summary['max_batch_size']} "
                  f"(from {summary['sizes_from']})", highlight=False)
    for line in summary["applied"] or summary["files"]:
        console.print(f"  {line}", highlight=False)
    typer.echo(json.dumps({k: summary[k] for k in ("model", "version", "stage", "name", "namespace")}))
