"""The `tunepipe` command line, one module per verb group, each mirroring the library package it calls.

Every command turns a `TunepipeError` into one red line and exit code 1; tracebacks are for bugs.
"""

from __future__ import annotations

import typer

from tunepipe.cli import data_quality, deploy, governance, pii, pipelines, serving, training
from tunepipe.cli import registry

app = typer.Typer(help="Raw domain data to a fine-tuned, evaluated, reviewed and served LLM.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
for group in (pipelines, data_quality, governance, serving, training, deploy):
    app.registered_commands += group.app.registered_commands
app.add_typer(governance.review_app, name="review")
app.add_typer(pii.pii_app, name="pii")
app.registered_commands += registry.app.registered_commands
app.add_typer(registry.models_app, name="models")
from tunepipe.cli import schedule  # noqa: E402
app.add_typer(schedule.schedule_app, name="schedule")
from tunepipe.cli import evaluation  # noqa: E402
app.registered_commands += evaluation.app.registered_commands


def main():
    app()


if __name__ == "__main__":
    main()
