"""`tunepipe pii scan` (PII spans and redacted text for any JSONL file) and `tunepipe pii eval` (scores on labelled data)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import SetOpt, console, err_console, friendly

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


@pii_app.command("eval")
@friendly
def pii_eval(file: Path = typer.Argument(..., help="A labelled file"),
             fmt: str = typer.Option("tunepipe", "--format", help="presidio (full_text, spans with entity_type, "
                                     "start_position, end_position) or tunepipe (text, spans with start, end, label)"),
             baseline: bool = typer.Option(False, "--baseline", help="Also score plain Presidio"),
             missed: bool = typer.Option(False, "--missed", help="List the gold spans tunepipe missed"),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the scores as JSON here"),
             config: Optional[Path] = typer.Option(None, "--config", "-c", help="Project config (its pii.* settings)"),
             set_: list[str] = SetOpt):
    """Per-entity redaction recall (95% intervals) and character precision of tunepipe on FILE."""
    import json

    from tunepipe.errors import TunepipeError
    from tunepipe.pii import evalset
    from tunepipe.pii.scan import load_settings

    if fmt not in ("presidio", "tunepipe"):
        raise TunepipeError(f"--format {fmt!r}: use presidio or tunepipe")
    records = evalset.load(file, fmt)
    settings = load_settings(config, set_)
    ours = evalset.evaluate(records, evalset.predict(records, settings))
    base = evalset.evaluate(records, evalset.predict(records, settings, baseline=True)) if baseline else {}
    for split, result in ours.items():
        console.print(f"\n[{split}] {result['records']} records", highlight=False, markup=False)
        console.print(evalset.table(result, base.get(split)), highlight=False, markup=False)
    for m in ours["all"]["missed"] if missed else ():
        console.print(f"  missed {m['label']:<15} #{m['id']:<5} {m['text']!r}", highlight=False, markup=False)
    if out:
        strip = {split: {k: v for k, v in r.items() if k != "missed"} for split, r in ours.items()}
        report = {"tunepipe": strip, "plain_presidio": {s: {k: v for k, v in r.items() if k != "missed"}
                                                        for s, r in base.items()}}
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
