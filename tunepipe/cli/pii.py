"""`tunepipe pii scan`: PII spans and redacted text for any JSONL file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import SetOpt, err_console, friendly

pii_app = typer.Typer(help="PII detection on any JSONL file.", no_args_is_help=True)


@pii_app.command("scan")
@friendly
def pii_scan(file: Path = typer.Argument(..., help="A JSONL file, one record a line"),
             text_field: str = typer.Option(..., "--text-field", "-f", help="The field to scan (dotted for nested)"),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write JSON lines here (default: stdout)"),
             config: Optional[Path] = typer.Option(None, "--config", "-c", help="Project config (its pii.* settings)"),
             set_: list[str] = SetOpt):
    """One JSON line per input line: the PII spans in TEXT_FIELD and the redacted text (or an error)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from tunepipe.pii.scan import load_settings, open_input, open_output, scan

    settings = load_settings(config, set_)
    with open_input(file) as source, open_output(out) as sink, \
            Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                     TimeRemainingColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(f"scanning {file.name}", total=file.stat().st_size)
        summary = scan(source, text_field, sink, settings, on_bytes=lambda n: progress.advance(task, n))
    found = ", ".join(f"{k} {v}" for k, v in sorted(summary.entities.items())) or "none"
    err_console.print(f"{summary.lines} lines, {summary.with_pii} with PII ({found}), {summary.errors} errors"
                      + (f"; wrote {out}" if out else ""), highlight=False)
