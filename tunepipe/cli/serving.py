"""`tunepipe serve`: the OpenAI-compatible CPU server for a registered version or a local dir."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import ConfigOpt, friendly, store_config

app = typer.Typer()


@app.command()
@friendly
def serve(model_uri: str, host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          config: Optional[Path] = ConfigOpt):
    """Serve a model (models:/NAME@alias or a local dir) on an OpenAI-compatible HTTP API."""
    from tunepipe.serving.server import serve as do_serve

    do_serve(store_config(config), model_uri, host, port)
