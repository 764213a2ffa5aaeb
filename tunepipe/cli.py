"""The `tunepipe` command line: run, prepare, compile, submit, review/approve/reject, serve.

Every command turns a `TunepipeError` into one red line and exit code 1; tracebacks are for bugs.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from tunepipe.config import Config, load_config
from tunepipe.errors import TunepipeError

app = typer.Typer(help="Raw domain data to a fine-tuned, evaluated, reviewed and served LLM.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
review_app = typer.Typer(help="Dataset reviews: what is waiting for a human decision.", no_args_is_help=True)
app.add_typer(review_app, name="review")
pii_app = typer.Typer(help="PII detection on any JSONL file.", no_args_is_help=True)
app.add_typer(pii_app, name="pii")
console = Console(soft_wrap=True)
err_console = Console(stderr=True)

SetOpt = typer.Option([], "--set", "-s", help="Override a config key: --set training.max_steps=5")
ConfigOpt = typer.Option(None, "--config", "-c", help="Project config (for its MLflow store).")


def friendly(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TunepipeError as err:
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    return wrapper


def store_config(config: Optional[Path]) -> Config:
    """The config for commands that only need the MLflow store: a file, or the embedded default."""
    if config:
        return load_config(config)
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": str(Path(".tunepipe").resolve())}}
    if os.environ.get("MLFLOW_TRACKING_URI"):
        raw["mlflow"] = {"tracking_uri": os.environ["MLFLOW_TRACKING_URI"]}
    return Config.model_validate(raw)


def with_launcher(cfg: Config) -> Config:
    """Record who launched the run (for four-eyes approvals): pods have no $USER, the CLI does."""
    if not cfg.approval.launched_by:
        import getpass

        try:
            cfg.approval.launched_by = getpass.getuser()
        except (KeyError, OSError):
            pass
    return cfg


@app.command()
@friendly
def run(config: Path, set_: list[str] = SetOpt,
        no_cache: bool = typer.Option(False, "--no-cache", help="Rerun every step, even unchanged ones.")):
    """Run the whole pipeline locally with the kfp local runner (the pipeline that compiles for Kubeflow)."""
    from tunepipe.pipelines.local import run_local
    from tunepipe.report import print_run_summary

    cfg = with_launcher(load_config(config, set_))
    console.rule(f"[bold]tunepipe run[/] {config}")
    result = run_local(cfg, cache=not no_cache)
    print_run_summary(console, cfg, result)


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


@app.command(name="compile")
@friendly
def compile_(config: Path, output: Path = typer.Option(Path("pipeline.yaml"), "--output", "-o"),
             set_: list[str] = SetOpt):
    """Compile the pipeline to KFP IR YAML for a Kubeflow cluster."""
    from tunepipe.pipelines.compile import compile_pipeline

    path = compile_pipeline(load_config(config, set_), output)
    console.print(f"wrote [bold]{path}[/] (upload it in the Kubeflow UI, or use `tunepipe submit`)")


@app.command()
@friendly
def submit(config: Path, host: str = typer.Option(..., help="Kubeflow Pipelines API endpoint"),
           experiment: str = typer.Option("tunepipe", help="KFP experiment name"),
           run_name: Optional[str] = typer.Option(None, help="Run name (default: generated)"),
           set_: list[str] = SetOpt):
    """Create a run on a Kubeflow Pipelines endpoint."""
    from tunepipe.pipelines.submit import submit_run

    run = submit_run(with_launcher(load_config(config, set_)), host, experiment, run_name)
    console.print(f"created run [bold]{run['run_id']}[/] in experiment '{experiment}': {run['url']}")


@app.command()
@friendly
def approve(digest: str, reviewer: str = typer.Option(..., help="Your name (not the run's launcher under four eyes)"),
            note: str = typer.Option("", help="Why it may be trained on"), config: Optional[Path] = ConfigOpt):
    """Approve a dataset digest for training, under the policy version its review report shows."""
    from tunepipe.rai import approval

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
def reject(digest: str, reviewer: str = typer.Option(..., help="Your name"),
           reason: str = typer.Option(..., help="Why it must not be trained on"),
           config: Optional[Path] = ConfigOpt):
    """Reject a dataset digest; runs on it stop at the approval gate."""
    from tunepipe.rai import approval

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
    from tunepipe.rai.approval import list_reviews

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
    from tunepipe.rai import approval, review

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
    from tunepipe.rai.approval import approval_status, resolve_digest
    from tunepipe.rai.review import load_review_summary

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
    """Verify the hash chain of the approval audit log and print its newest entries."""
    from tunepipe.rai.approval import audit_log_path
    from tunepipe.rai.audit import read_entries, verify_audit_log

    path = audit_log_path(store_config(config))
    result = verify_audit_log(path)
    table = Table("time", "actor", "action", "digest", "policy", "note")
    for e in read_entries(path)[-tail:] if tail > 0 else []:
        table.add_row(e["time"][:19], e["actor"], e["action"], e["digest"][:12], e["policy_version"],
                      e["note"][:80])
    console.print(table)
    console.print(f"[green]audit log intact[/]: {result['entries']} entries in {path}, "
                  f"head {result['head_sha256']}")


@app.command()
@friendly
def serve(model_uri: str, host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          config: Optional[Path] = ConfigOpt):
    """Serve a model (models:/NAME@alias or a local dir) on an OpenAI-compatible HTTP API."""
    from tunepipe.serving.server import serve as do_serve

    do_serve(store_config(config), model_uri, host, port)


@app.command()
@friendly
def plan(model: str = typer.Option(..., "--model", "-m",
                                   help="Known model (llama-2-7b, ...), a local Hugging Face model dir or a config YAML"),
         method: Optional[str] = typer.Option(None, help="lora, qlora, ptuning or sft (default: training.method)"),
         seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Tokens per sample (default: model.max_seq_len)"),
         gpu: str = typer.Option("h100-80gb", help="a100-40gb, a100-80gb, h100-80gb, h200, l40s-48gb, a6000-48gb"),
         gpus: Optional[int] = typer.Option(None, help="Lay out exactly this many GPUs (default: the fewest that fit)"),
         max_gpus: int = typer.Option(64, "--max-gpus", help="Search at most this many GPUs"),
         pipeline: bool = typer.Option(True, "--pipeline/--no-pipeline", help="--no-pipeline: tensor parallelism only"),
         distributed_optimizer: bool = typer.Option(False, "--distributed-optimizer",
                                                    help="SFT: shard optimizer state over data-parallel ranks"),
         recompute: Optional[str] = typer.Option(None, help="selective or full (default: full for qlora, else selective)"),
         lora_rank: Optional[int] = typer.Option(None, "--lora-rank", help="LoRA rank (default: training.lora.r)"),
         lora_targets: Optional[str] = typer.Option(None, "--lora-targets", help="q_proj,v_proj,... or all-linear"),
         as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON")):
    """Size a fine-tuning run: memory per GPU, GPUs needed, tensor/pipeline/data parallel sizes, micro-batch."""
    from tunepipe.training.sizing import plan as make_plan, print_plan

    result = make_plan(model, method, seq_len, gpu, gpus=gpus, max_gpus=max_gpus, pipeline=pipeline,
                       distributed_optimizer=distributed_optimizer, recompute=recompute, lora_rank=lora_rank,
                       lora_targets=lora_targets)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_plan(console, result)


@pii_app.command("scan")
@friendly
def pii_scan(file: Path = typer.Argument(..., help="A JSONL file, one record a line"),
             text_field: str = typer.Option(..., "--text-field", "-f", help="The field to scan (dotted for nested)"),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write JSON lines here (default: stdout)"),
             config: Optional[Path] = typer.Option(None, "--config", "-c", help="Project config (its pii.* settings)"),
             set_: list[str] = SetOpt):
    """One JSON line per input line: the PII spans in TEXT_FIELD and the redacted text (or an error)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from tunepipe.rai.scan import load_settings, open_input, open_output, scan

    settings = load_settings(config, set_)
    with open_input(file) as source, open_output(out) as sink, \
            Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                     TimeRemainingColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(f"scanning {file.name}", total=file.stat().st_size)
        summary = scan(source, text_field, sink, settings, on_bytes=lambda n: progress.advance(task, n))
    found = ", ".join(f"{k} {v}" for k, v in sorted(summary.entities.items())) or "none"
    err_console.print(f"{summary.lines} lines, {summary.with_pii} with PII ({found}), {summary.errors} errors"
                      + (f"; wrote {out}" if out else ""), highlight=False)


def main():
    app()


if __name__ == "__main__":
    main()
