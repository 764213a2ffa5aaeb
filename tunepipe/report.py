"""The end-of-run summary a user reads in the terminal after `tunepipe run`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tunepipe.config import Config


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("n/a" if value is None else str(value))


def _interval(delta: dict | None) -> str:
    return f"{delta['value']:+.4f} [{delta['low']:+.4f}, {delta['high']:+.4f}]" if delta else ""


def _metrics_table(evaluation: dict) -> Table:
    """Each metric of base, fine-tuned and champion, with n and the fine-tuned model's 95% intervals."""
    metrics, deltas = evaluation.get("metrics", {}), evaluation.get("deltas", {})
    champion = (evaluation.get("models") or {}).get("champion")
    columns = ["metric (held-out test)", "n", "base", "fine-tuned"] + (["champion"] if champion else [])
    columns += ["fine-tuned - base (95% CI)"] + (["vs champion (95% CI)"] if champion else [])
    table = Table(*columns, title="Evaluation", caption=evaluation.get("champion_note"))
    for name, entry in metrics.get("candidate", {}).items():
        cells = [_fmt(metrics.get(m, {}).get(name, {}).get("value")) for m in ("base", "candidate")]
        cells += [_fmt(metrics.get("champion", {}).get(name, {}).get("value"))] if champion else []
        cells += [_interval(deltas.get("candidate-base", {}).get(name))]
        cells += [_interval(deltas.get("candidate-champion", {}).get(name))] if champion else []
        table.add_row(name, str(entry.get("n", "")), *cells)
    return table


def print_run_summary(console: Console, cfg: Config, result) -> None:
    s = result.stages
    review = s.get("review", {})
    up = review.get("upstream", {})
    ingest, clean, pii = up.get("ingest", {}), up.get("clean", {}), up.get("pii", {})
    dedup = up.get("dedup", {})
    gate, approval = s.get("eval_gate", {}), s.get("approval_gate", {})
    reg, smoke = s.get("register", {}), s.get("serve_smoke", {})

    console.rule("[bold]Summary")
    console.print(f"dataset digest   {review.get('digest', '?')}")
    console.print(f"rows             input {ingest.get('input_rows', '?')}, quarantined "
                  f"{ingest.get('quarantined', '?')}, filtered {sum(clean.get('filtered', {}).values())}, "
                  f"duplicates {dedup.get('exact_duplicates', '?')} exact + {dedup.get('near_duplicates', '?')} "
                  f"near, kept {dedup.get('kept', '?')}, "
                  f"rows with PII redacted {pii.get('rows_with_pii', '?')}")
    if s.get("change", {}).get("status") == "no change":
        return _print_no_change(console, s["change"], result)
    split = s.get("evaluate", {}).get("split") or {}
    if split:
        console.print(f"split            train {split.get('train')}, validation {split.get('validation')}, "
                      f"test {split.get('test')}")
    console.print(f"approval         {approval.get('status', '?')} by {approval.get('reviewer', '?')}"
                  f" at {approval.get('time', '?')}")
    if s.get("evaluate"):
        console.print(_metrics_table(s["evaluate"]))
    console.print(f"eval gate        {'passed' if gate.get('passed') else 'FAILED'}"
                  + (f" ({'; '.join(gate.get('reasons', []))})" if gate.get("reasons") else ""))
    if reg:
        console.print(f"registered       {reg['name']} version {reg['version']} alias @{reg['alias']}  "
                      f"({reg['uri']})")
    else:
        console.print("registered       nothing (the candidate did not pass the eval gate)")
    if smoke:
        console.print(f"served answer    Q: {smoke.get('question')}\n                 A: {smoke.get('answer')}")
    console.print(f"artifacts        {result.pipeline_root}")
    console.print(f"step logs        {result.log_dir}")
    console.print(f"MLflow store     {result.tracking_uri}  (browse: mlflow ui --backend-store-uri "
                  f"{result.tracking_uri})")
    console.print(f"pipeline time    {result.seconds:.0f} s")


def _print_no_change(console: Console, change: dict, result) -> None:
    version = change["version"]
    console.print(f"status           no change: {version['name']} version {version['version']} ({version['uri']}) "
                  f"was trained on this approved dataset with this config; nothing trained, evaluated or registered")
    console.print(f"MLflow store     {result.tracking_uri}")
    console.print(f"step logs        {result.log_dir}")
    console.print(f"pipeline time    {result.seconds:.0f} s")
