"""`tunepipe approve | reject | review list|show|audit`: dataset decisions and the audit log (with registry decisions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from tunepipe.cli.common import ConfigOpt, console, err_console, friendly, store_config
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

app = typer.Typer()
review_app = typer.Typer(help="Dataset reviews: what is waiting for a human decision.", no_args_is_help=True)


@app.command()
@friendly
def approve(digest: str, reviewer: Optional[str] = typer.Option(None, help="Your name (default: the MLflow login; "
                                                                      "not the run's launcher under four eyes)"),
            note: str = typer.Option("", help="Why it may be trained on"), config: Optional[Path] = ConfigOpt):
    """Approve a dataset digest for training, under the policy version its review report shows."""
    from tunepipe.governance import approval

    cfg = store_config(config)
    before = approval.approval_status(cfg, approval.resolve_digest(cfg, digest))
    if not (before or {}).get("reviewed_policy_version"):
        err_console.print(f"[yellow]warning:[/] no review report was written for {digest}; you are approving "
                          "data you have not seen in a report", highlight=False)
    result = approval.approve(cfg, digest, reviewer, note)
    console.print(f"[green]approved[/] {result['digest']} by {result['reviewer']} under policy "
                  f"{result['policy_version']} (recorded in MLflow and {approval.audit_log_path(cfg)})")


@app.command()
@friendly
def reject(digest: str, reviewer: Optional[str] = typer.Option(None, help="Your name (default: the MLflow login)"),
           reason: str = typer.Option(..., help="Why it must not be trained on"),
           config: Optional[Path] = ConfigOpt):
    """Reject a dataset digest; runs on it stop at the approval gate."""
    from tunepipe.governance import approval

    cfg = store_config(config)
    result = approval.reject(cfg, digest, reviewer, reason)
    console.print(f"[red]rejected[/] {result['digest']} by {result['reviewer']} "
                  f"(recorded in MLflow and {approval.audit_log_path(cfg)})")


def _shown_status(review: dict) -> str:
    """The status, marking an approval whose policy is no longer the one the data was reviewed under."""
    reviewed, decided = review.get("reviewed_policy_version"), review.get("policy_version")
    if review["status"] == "approved" and reviewed and decided != reviewed:
        return "approved (policy changed: re-review)"
    return review["status"]


@review_app.command("list")
@friendly
def review_list(config: Optional[Path] = ConfigOpt):
    """Dataset reviews, newest first: digest prefix, status, rows, reviewer, time."""
    from tunepipe.governance.approval import list_reviews

    table = Table("digest", "status", "rows", "reviewer", "time")
    for r in list_reviews(store_config(config)):
        table.add_row(r["digest"][:12], _shown_status(r), r.get("rows") or "", r.get("reviewer") or "",
                      r.get("time") or "")
    console.print(table)


def _count_table(title: str, header: tuple, rows: list) -> Table:
    table = Table(*header, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def _print_review(cfg: Config, status: dict, summary: dict | None) -> None:
    from tunepipe.governance import approval
    from tunepipe.review import report as review

    digest = status["digest"]
    policy = ((summary or {}).get("policy_version") or status.get("reviewed_policy_version")
              or status.get("policy_version") or "(unknown)")
    console.print(f"[bold]Dataset review {digest[:12]}[/]  {digest}")
    console.print(f"status     {review.status_line(status, policy)}")
    console.print(f"policy     {policy}")
    if summary is None:
        console.print("report     none: the pipeline's review step has not run for this digest")
        return
    four_eyes = " (four eyes: another person must approve)" if summary.get("four_eyes") else ""
    console.print(f"rows       {summary['rows']} ({summary['rows_with_pii']} with PII redacted)")
    console.print(f"launched   {summary.get('launched_by') or 'unknown'}{four_eyes}")
    console.print(_count_table("PII by entity type and action", ("entity", "action", "count"), summary["actions"]))
    console.print(_count_table("Responsible-AI flags", ("flag", "rows"), list(summary["rai_flags"].items())))
    console.print(_count_table("Quarantined, filtered and dropped", ("stage", "reason", "rows"),
                               summary["quarantine"]))
    run_id, files = status["review_run_id"], summary.get("report_files") or {}
    console.print(f"report     {_artifact_uri(cfg, run_id)}/report/review.html and review.md (MLflow run {run_id})"
                  + (f"; pipeline copies {files['html']} and {files['md']}" if files else ""))
    console.print(f"data card  {review.describe_data_card(summary['data_card'])}")
    console.print(f"decide     {approval.approve_command(digest)}\n           {approval.reject_command(digest)}")


def _artifact_uri(cfg: Config, run_id: str) -> str:
    from mlflow import MlflowClient

    from tunepipe.tracking import setup_mlflow

    return MlflowClient(tracking_uri=setup_mlflow(cfg)).get_run(run_id).info.artifact_uri


@review_app.command("show")
@friendly
def review_show(digest: str, config: Optional[Path] = ConfigOpt,
                as_json: bool = typer.Option(False, "--json", help="Print the status and counts as JSON.")):
    """One review: status, PII counts per entity type and action, RAI flags, quarantine, where the reports are."""
    from tunepipe.governance.approval import approval_status, resolve_digest
    from tunepipe.review.report import load_review_summary

    cfg = store_config(config)
    status = approval_status(cfg, resolve_digest(cfg, digest))
    if status is None:
        raise TunepipeError(f"no review for digest {digest} (see `tunepipe review list`)")
    summary = load_review_summary(cfg, status["review_run_id"])
    if as_json:
        console.print_json(json.dumps({**status, "report": summary}, default=str))
    else:
        _print_review(cfg, status, summary)


@review_app.command("audit")
@friendly
def review_audit(config: Optional[Path] = ConfigOpt,
                 tail: int = typer.Option(10, help="How many of the newest entries to print.")):
    """Verify the audit log (hash chain and its anchor in MLflow); print its newest dataset and registry decisions."""
    from tunepipe.governance import ledger
    from tunepipe.governance.audit import read_entries

    cfg = store_config(config)
    path = ledger.log_path(cfg)
    result = ledger.verify(cfg)
    table = Table("time", "actor", "action", "subject", "policy", "note")
    for e in read_entries(path)[-tail:] if tail > 0 else []:
        subject = f"{e['model']} v{e['version']}" if e.get("model") else e["digest"][:12]
        table.add_row(e["time"][:19], e["actor"], e["action"], subject, e["policy_version"], e["note"][:80])
    console.print(table)
    console.print(f"[green]audit log intact[/]: {result['entries']} entries in {path}, "
                  f"head {result['head_sha256']}")
