"""`tunepipe prepare`: only the data stages, with the row accounting per source."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tunepipe.cli.common import SetOpt, console, friendly
from tunepipe.config import load_config

app = typer.Typer()


@app.command()
@friendly
def prepare(config: Path, out: Path = typer.Option(..., "--out", "-o", help="Output directory"),
            set_: list[str] = SetOpt):
    """Run only the data stages (ingest, clean, dedup, split, export) and write prepare_summary.json."""
    from tunepipe.data_quality.prepare import SUMMARY_FILE, prepare as run_prepare

    cfg = load_config(config, set_)
    console.rule(f"[bold]tunepipe prepare[/] {config}")

    def on_stage(name: str, summary: dict, seconds: float) -> None:
        counts = {k: summary[k] for k in ("input_rows", "kept", "valid_rows", "quarantined", "train",
                                          "validation", "test", "rows") if isinstance(summary.get(k), int)}
        shown = ", ".join(f"{k} {v}" for k, v in counts.items())
        console.print(f"[green]done[/] {name:<10} {seconds:7.1f}s  {shown}")

    result = run_prepare(cfg, out, on_stage)
    _print_accounting(result)
    console.print(f"digest {result['digest']}\nwrote [bold]{Path(out) / SUMMARY_FILE}[/], data card "
                  f"{Path(out) / 'data_card.html'}, NeMo files in {Path(out) / 'nemo'}")


def _print_accounting(result: dict) -> None:
    table = Table(title="Row accounting (input = kept + quarantined + filtered + duplicates)")
    columns = ("input", "quarantined", "filtered", "exact_duplicates", "near_duplicates", "kept")
    for name in ("source", *columns, "adds up"):
        table.add_column(name, justify="left" if name == "source" else "right")
    rows = [*result["per_source"].items(), ("TOTAL", result["total"])]
    for src, row in rows:
        table.add_row(str(src), *(str(row.get(c, 0)) for c in columns), "yes" if row["balanced"] else "NO")
    console.print(table)
