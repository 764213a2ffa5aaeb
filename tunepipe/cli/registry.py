"""`tunepipe models list|show`, `tunepipe promote`, `tunepipe rollback`: registry review."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from tunepipe.cli.common import ConfigOpt, console, friendly, store_config

app = typer.Typer()
models_app = typer.Typer(help="Registered model versions: gate, metrics vs champion, data, promotions.",
                         no_args_is_help=True)


def _when(ms) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds") if ms else ""


def _metrics(row: dict) -> str:
    return ", ".join(f"{k} {v}" + (f" ({d} vs champion)" if d else "") for k, (v, d) in sorted(row["metrics"].items()))


@models_app.command("list")
@friendly
def models_list(name: Optional[str] = typer.Argument(None), config: Optional[Path] = ConfigOpt):
    """Versions, newest first: aliases, gate, metrics vs champion, dataset, approval, created/promoted by."""
    from tunepipe.registry.history import list_versions

    table = Table("model", "v", "aliases", "gate", "metrics", "dataset", "approved by", "created", "promoted")
    for r in list_versions(store_config(config), name):
        promoted = f"{r['promoted_by']} {r['promoted_at']}".strip()
        if r["rolled_back_by"]:
            promoted += f" (rolled back by {r['rolled_back_by']})"
        table.add_row(r["name"], r["version"], ",".join(r["aliases"]), r["gate"], _metrics(r),
                      r["dataset_digest"][:12], r["approved_by"], f"{r['created_by']} {_when(r['created'])}".strip(),
                      promoted)
    console.print(table)


@models_app.command("show")
@friendly
def models_show(ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION"), config: Optional[Path] = ConfigOpt,
                as_json: bool = typer.Option(False, "--json", help="Print the lineage as JSON.")):
    """One version's lineage: data digest -> approval -> training run -> evaluation -> version -> promotions."""
    from tunepipe.registry.history import show

    info = show(store_config(config), ref)
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    approval = info["dataset_approval"] or {}
    console.print(f"[bold]{info['name']} v{info['version']}[/]  aliases: {', '.join(info['aliases']) or 'none'}")
    for label, value in (
        ("data", info["dataset_digest"] or "(no digest tag)"),
        ("approval", f"{approval.get('status', 'none')} by {approval.get('reviewer') or '-'} at {approval.get('time') or '-'}"),
        ("training", info["training_run_id"] or "-"), ("evaluation", f"run {info['evaluation_run_id'] or '-'}, gate "
         f"{info['gate']}, against champion {info['evaluated_against']}, test {info['test_digest'][:12] or '-'}"),
        ("metrics", _metrics(info) or "-"), ("registered", f"run {info['register_run_id']} ({info['source']})"),
        ("record", info["promotion_record_state"]), ("MLflow UI", info["ui"]),
    ):
        console.print(f"{label:<11}{value}", highlight=False)
    for e in info["audit"]:
        console.print(f"  {e['time'][:19]}  {e['action']:<16} {e['actor']}: {e['note'][:100]}", highlight=False)


@app.command()
@friendly
def promote(name: str, version: str, reviewer: Optional[str] = typer.Option(None, help="You (default: the MLflow login)"),
            note: str = typer.Option(..., help="Why this version should serve"), config: Optional[Path] = ConfigOpt):
    """Move alias `champion` to NAME VERSION (gate passed, evaluated against the current champion, data approved)."""
    from tunepipe.registry.promotion import promote as run

    result = run(store_config(config), name, version, reviewer, note)
    how = "finished an interrupted promotion:" if result.get("resumed") else "promoted"
    found = f" ({result['found']})" if result.get("found") else ""
    console.print(f"[green]{how}[/] {name} v{version} is {result['alias']} (previous: {result['previous_champion']}), "
                  f"by {result['reviewer']}, audit {result['audit_sha256'][:12]}{found}", highlight=False)


@app.command()
@friendly
def rollback(name: str, reviewer: Optional[str] = typer.Option(None, help="You (default: the MLflow login)"),
             reason: str = typer.Option(..., help="What went wrong in production"), config: Optional[Path] = ConfigOpt):
    """Put alias `champion` back on the version that held it before."""
    from tunepipe.registry.promotion import rollback as run

    result = run(store_config(config), name, reviewer, reason)
    console.print(f"[yellow]rolled back[/] {name}: v{result['version']} is {result['alias']} again "
                  f"(was v{result['rolled_back_from']}), by {result['reviewer']}", highlight=False)
