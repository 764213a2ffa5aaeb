"""Recurring runs of the compiled pipeline on a Kubeflow Pipelines endpoint, addressed by name.

`kfp.Client.create_recurring_run` with a 6-field cron (seconds first, evaluated in UTC by the KFP
scheduler), `max_concurrency=1` (a run never overlaps the previous one) and `no_catchup=True` (a
paused schedule does not backfill missed runs when resumed). Cron syntax is checked with croniter
before anything is sent, so a bad expression fails here, not silently on the cluster.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.compile import compile_pipeline
from tunepipe.pipelines.submit import check_endpoint

CRON_HELP = 'six fields, seconds first, in UTC: "SEC MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK", e.g. "0 0 3 * * 1"'


def next_times(cron: str, count: int = 3, now: datetime | None = None) -> list[str]:
    """The next `count` UTC fire times of a 6-field cron; raises TunepipeError on a bad expression."""
    from croniter import croniter

    fields = (cron or "").split()
    if len(fields) != 6 or not croniter.is_valid(cron, second_at_beginning=True):
        what = f"has {len(fields)} fields" if len(fields) != 6 else "is not valid"
        raise TunepipeError(f"cron {cron!r} {what}: give {CRON_HELP}")
    it = croniter(cron, now or datetime.now(timezone.utc), second_at_beginning=True)
    return [it.get_next(datetime).isoformat(timespec="seconds") for _ in range(count)]


def _client(host: str):
    import kfp

    check_endpoint(host)
    return kfp.Client(host=host)


def _call(host: str, what: str, fn, *args, **kwargs):
    """A KFP API call whose HTTP error becomes one line naming the endpoint and the reason."""
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, **kwargs)
    except ApiException as err:
        reason = _api_message(err)
        raise TunepipeError(f"Kubeflow Pipelines at {host} refused to {what}: {err.status} {reason}") from None
    except HTTPError as err:
        raise TunepipeError(f"lost Kubeflow Pipelines at {host} while trying to {what} ({type(err).__name__}); "
                            "check the endpoint and retry") from None


def _api_message(err) -> str:
    try:
        body = json.loads(err.body or "{}")
        return body.get("message") or body.get("error") or err.reason
    except (TypeError, ValueError):
        return err.reason or ""


def _by_name(host: str, client, name: str) -> list:
    flt = json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})
    page = _call(host, "list recurring runs", client.list_recurring_runs, page_size=100, filter=flt)
    return [r for r in (page.recurring_runs or []) if r.display_name == name]


def _one(host: str, client, name: str):
    found = _by_name(host, client, name)
    if not found:
        raise TunepipeError(f"no schedule named {name!r} on {host} (see `tunepipe schedule list --host {host}`)")
    if len(found) > 1:
        raise TunepipeError(f"{len(found)} schedules are named {name!r} on {host}: remove the extra ones in the "
                            "Kubeflow UI (Recurring runs), then retry")
    return found[0]


def describe(run) -> dict:
    cron = run.trigger.cron_schedule.cron if run.trigger and run.trigger.cron_schedule else None
    return {
        "name": run.display_name, "id": run.recurring_run_id, "cron": cron,
        "status": (run.status or ("ENABLED" if run.mode == "ENABLE" else "DISABLED")),
        "max_concurrency": run.max_concurrency, "no_catchup": run.no_catchup, "experiment_id": run.experiment_id,
        "next_utc": next_times(cron, 1)[0] if cron and run.status != "DISABLED" else None,
    }


def create_schedule(cfg: Config, host: str, cron: str, name: str | None = None,
                    experiment: str = "tunepipe") -> dict:
    """A recurring run of the pipeline compiled from `cfg`, created enabled; refuses a name in use."""
    name = name or f"{cfg.project.name}-retrain"
    upcoming = next_times(cron)
    client = _client(host)
    if _by_name(host, client, name):
        raise TunepipeError(f"a schedule named {name!r} already exists on {host}: pick another --name, or "
                            f"`tunepipe schedule delete {name} --host {host}` first")
    exp = _call(host, f"create experiment {experiment!r}", client.create_experiment, name=experiment)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(cfg, Path(tmp) / "pipeline.yaml")
        run = _call(host, f"create schedule {name!r}", client.create_recurring_run,
                    experiment_id=exp.experiment_id, job_name=name, cron_expression=cron,
                    description=f"tunepipe scheduled retraining of {cfg.project.name} (cron {cron}, UTC)",
                    max_concurrency=1, no_catchup=True, pipeline_package_path=str(package))
    return {**describe(run), "experiment": experiment, "next_utc": upcoming}


def list_schedules(host: str) -> list[dict]:
    client = _client(host)
    runs, token = [], ""
    while True:
        page = _call(host, "list recurring runs", client.list_recurring_runs, page_size=100, page_token=token)
        runs += page.recurring_runs or []
        token = page.next_page_token
        if not token:
            return [describe(r) for r in runs]


def pause_schedule(host: str, name: str) -> dict:
    client = _client(host)
    run = _one(host, client, name)
    _call(host, f"pause schedule {name!r}", client.disable_recurring_run, run.recurring_run_id)
    return describe(_call(host, "read the schedule", client.get_recurring_run, run.recurring_run_id))


def resume_schedule(host: str, name: str) -> dict:
    client = _client(host)
    run = _one(host, client, name)
    _call(host, f"resume schedule {name!r}", client.enable_recurring_run, run.recurring_run_id)
    return describe(_call(host, "read the schedule", client.get_recurring_run, run.recurring_run_id))


def delete_schedule(host: str, name: str) -> dict:
    client = _client(host)
    run = _one(host, client, name)
    _call(host, f"delete schedule {name!r}", client.delete_recurring_run, run.recurring_run_id)
    return {"name": name, "id": run.recurring_run_id, "deleted": True}
