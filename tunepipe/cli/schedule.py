"""`tunepipe schedule create|list|pause|resume|delete`: recurring retraining runs on a Kubeflow endpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from tunepipe.cli.common import SetOpt, console, friendly, with_launcher
from tunepipe.config import load_config

schedule_app = typer.Typer(help="Recurring retraining runs (KFP recurring runs; cron in UTC, seconds first).",
                           no_args_is_help=True)
HostOpt = typer.Option(..., "--host", envvar="KFP_HOST", help="Kubeflow Pipelines API endpoint")


@schedule_app.command("create")
@friendly
def create(config: Path,
           cron: str = typer.Option(..., help='6-field cron, seconds first, UTC: "0 0 3 * * 1" = Mondays 03:00 UTC'),
           host: str = HostOpt,
           experiment: str = typer.Option("tunepipe", help="KFP experiment name"),
           name: str = typer.Option(None, help="Schedule name (default: <project>-retrain)"),
           set_: list[str] = SetOpt):
    """Create a recurring run of the compiled pipeline: one run at a time, no backfill after a pause."""
    from tunepipe.scheduling.recurring import create_schedule

    s = create_schedule(with_launcher(load_config(config, set_)), host, cron, name, experiment)
    console.print(f"created schedule [bold]{s['name']}[/] ({s['id']}) in experiment '{experiment}': cron "
                  f"'{s['cron']}' (UTC), max_concurrency 1, no catch-up")
    console.print(f"next runs (UTC): {', '.join(s['next_utc'])}")


@schedule_app.command("list")
@friendly
def list_(host: str = HostOpt):
    """Every recurring run on the endpoint, with its cron (UTC), state and next time."""
    from tunepipe.scheduling.recurring import list_schedules

    schedules = list_schedules(host)
    for s in schedules:
        console.print(f"{s['name']}  {s['status']}  cron '{s['cron']}' (UTC)  next {s['next_utc'] or '-'}  "
                      f"max_concurrency {s['max_concurrency']}  no_catchup {s['no_catchup']}  id {s['id']}",
                      highlight=False)
    if not schedules:
        console.print(f"no schedules on {host}")


def _change(verb: str, name: str, host: str) -> None:
    from tunepipe.scheduling import recurring

    s = getattr(recurring, f"{verb}_schedule")(host, name)
    console.print(f"schedule [bold]{name}[/] {verb}d" + (f": now {s['status']}" if "status" in s else ""))


@schedule_app.command("pause")
@friendly
def pause(name: str, host: str = HostOpt):
    """Stop a schedule from starting runs (missed times are not caught up on resume)."""
    _change("pause", name, host)


@schedule_app.command("resume")
@friendly
def resume(name: str, host: str = HostOpt):
    """Let a paused schedule start runs again, from its next time."""
    _change("resume", name, host)


@schedule_app.command("delete")
@friendly
def delete(name: str, host: str = HostOpt):
    """Remove a schedule (its past runs stay in the experiment)."""
    _change("delete", name, host)
