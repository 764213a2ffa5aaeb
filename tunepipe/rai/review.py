"""The dataset review report: what a reviewer reads before approving a dataset digest.

`write_review_report` writes a self-contained HTML page (charts embedded as PNG data) and a Markdown
twin: the digest, how every input row was accounted for (quarantined, filtered, duplicate, kept),
PII found per entity type, a few redacted examples (never raw text: the dataset holds only the
redacted records) and the exact approve/reject commands. Both files are logged to the digest's
"dataset review" run in MLflow, which is where the decision is recorded (see `rai.approval`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import datetime, timezone
from pathlib import Path

from tunepipe import artifacts, tracking
from tunepipe.config import Config
from tunepipe.rai import approval
from tunepipe.rai.pii import ENTITIES_COLUMN

N_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 600


def dataset_digest(dataset_dir: str | Path) -> str:
    """The digest recorded by the PII stage, or computed from the rows when there is none."""
    from tunepipe.digest import pandas_digest

    return artifacts.read_summary(dataset_dir).get("digest") or pandas_digest(
        artifacts.read_parquet_dir(dataset_dir)
    )


def pick_examples(dataset_dir: str | Path, n: int = N_EXAMPLES, scan: int = 500) -> list[dict]:
    """Up to `n` redacted rows with PII, chosen to show as many entity types as possible."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    data = ds.dataset(str(dataset_dir), format="parquet")
    if ENTITIES_COLUMN not in data.schema.names:
        return []
    wanted = ("record_id", "prompt", "context", "response", ENTITIES_COLUMN)
    cols = [c for c in wanted if c in data.schema.names]
    rows = data.scanner(columns=cols, filter=pc.field(ENTITIES_COLUMN) != "").head(scan).to_pylist()
    rows.sort(key=lambda r: (r.get("record_id") or "", r[ENTITIES_COLUMN]))
    chosen, seen = [], set()
    while rows and len(chosen) < n:
        best = max(rows, key=lambda r: len(set(r[ENTITIES_COLUMN].split(",")) - seen))
        rows.remove(best)
        chosen.append(best)
        seen |= set(best[ENTITIES_COLUMN].split(","))
    return chosen


def row_accounting(upstream: dict, final_rows: int) -> list[tuple[str, int]]:
    """(label, rows) from the raw input to the reviewed dataset, as far as the summaries tell."""
    ingest, clean = upstream.get("ingest") or {}, upstream.get("clean") or {}
    steps = [
        ("input rows", ingest.get("input_rows")),
        ("quarantined at ingest", ingest.get("quarantined")),
        ("valid after ingest", ingest.get("valid_rows")),
        ("filtered by quality rules", sum(clean["filtered"].values()) if "filtered" in clean else None),
        ("exact duplicates removed", clean.get("exact_duplicates")),
        ("near duplicates removed", clean.get("near_duplicates")),
        ("kept after cleaning", clean.get("kept")),
        ("reviewed dataset", final_rows),
    ]
    return [(label, int(v)) for label, v in steps if isinstance(v, (int, float))]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bar_chart(title: str, items: list[tuple[str, int]], color: str) -> str | None:
    if not items:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(items) + 1.2))
    labels, values = [k for k, _ in items][::-1], [v for _, v in items][::-1]
    bars = ax.barh(labels, values, color=color)
    ax.bar_label(bars, padding=3)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(values + [1]) * 1.15)
    try:
        return _png(fig)
    finally:
        plt.close(fig)


def _clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS] + " …"


def build_context(cfg: Config, dataset_dir: str | Path, upstream: dict, digest: str, status: dict) -> dict:
    pii = {**(upstream.get("pii") or {}), **artifacts.read_summary(dataset_dir)}
    rows = int(pii.get("rows", len(artifacts.read_parquet_dir(dataset_dir))))
    entities = dict(sorted((pii.get("entities") or {}).items(), key=lambda kv: (-kv[1], kv[0])))
    ingest, clean = upstream.get("ingest") or {}, upstream.get("clean") or {}
    return {
        "digest": digest,
        "dataset_dir": str(dataset_dir),
        "rows": rows,
        "rows_with_pii": int(pii.get("rows_with_pii", 0)),
        "pii_enabled": pii.get("pii_enabled", cfg.pii.enabled),
        "entities": entities,
        "accounting": row_accounting(upstream, rows),
        "quarantine_reasons": dict(ingest.get("quarantine_reasons") or {}),
        "filtered": dict(clean.get("filtered") or {}),
        "missing": [k for k, v in (("ingest", ingest), ("clean", clean), ("pii", pii)) if not v],
        "examples": pick_examples(dataset_dir),
        "status": status,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "project": cfg.project.name,
    }


def _status_line(status: dict) -> str:
    if status["status"] == approval.PENDING:
        return "PENDING: not approved yet; training refuses this dataset until it is approved."
    who = f"{status['status'].upper()} by {status['reviewer']} at {status['time']}"
    return who + (f": {status['note']}" if status.get("note") else "")


EXAMPLES_NOTE = "Only redacted text is shown; the raw text never leaves the PII stage."


def count_tables(ctx: dict) -> list[tuple[str, tuple[str, str], list, str]]:
    """(title, header, rows, text when empty) for each count table, in report order."""
    return [
        ("Quarantine reasons", ("reason", "rows"), list(ctx["quarantine_reasons"].items()), "None."),
        ("Quality filters", ("filter", "rows"), list(ctx["filtered"].items()), "None."),
        ("PII redacted (rows containing each entity type)", ("entity", "rows"),
         list(ctx["entities"].items()), "None found."),
    ]


def _labels(example: dict) -> str:
    return example[ENTITIES_COLUMN].replace(",", ", ")


def render_markdown(ctx: dict) -> str:
    d = ctx["digest"]
    redaction = "on" if ctx["pii_enabled"] else "OFF"
    lines = [
        f"# Dataset review `{d[:12]}`", "",
        f"- **Digest:** `{d}`",
        f"- **Status:** {_status_line(ctx['status'])}",
        f"- **Rows:** {ctx['rows']} ({ctx['rows_with_pii']} with PII redacted; PII redaction {redaction})",
        f"- **Dataset:** `{ctx['dataset_dir']}`",
        f"- **Generated:** {ctx['generated']}", "",
        "## Decision", "", "Approve (training may use exactly this digest) or reject:", "",
        "```", approval.approve_command(d), approval.reject_command(d), "```", "",
        "## Row accounting", "",
        *_md_table(("step", "rows"), ctx["accounting"], "No counts."),
    ]
    if ctx["missing"]:
        lines += ["", f"Summaries not available for: {', '.join(ctx['missing'])}."]
    for title, header, rows, empty in count_tables(ctx):
        lines += ["", f"## {title}", "", *_md_table(header, rows, empty)]
    lines += ["", "## Redacted examples", "", EXAMPLES_NOTE, ""]
    for i, ex in enumerate(ctx["examples"], 1):
        lines += [f"### Example {i}: {_labels(ex)}", ""]
        for col in ("prompt", "context", "response"):
            if ex.get(col):
                lines += [f"**{col}**", "", "~~~text", _clip(ex[col]).replace("~~~", "~ ~ ~"), "~~~", ""]
    if not ctx["examples"]:
        lines.append("No rows with PII.")
    return "\n".join(lines).rstrip() + "\n"


def _md_table(header: tuple[str, str], rows: list, empty: str) -> list[str]:
    if not rows:
        return [empty]
    return [f"| {header[0]} | {header[1]} |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)]


_CSS = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code,pre{background:#f4f4f4;border-radius:4px}pre{padding:.7em;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .8em;text-align:left}
td.n{text-align:right}.status{padding:.6em 1em;border-radius:6px;font-weight:600}
.pending{background:#fff4d6}.approved{background:#dff5e1}.rejected{background:#fde0e0}
.example{border-left:4px solid #bbb;padding-left:1em;margin:1em 0}
"""


def render_html(ctx: dict) -> str:
    e = html.escape
    d = ctx["digest"]
    facts = {
        "digest": f"<code>{e(d)}</code>", "rows": ctx["rows"], "rows with PII redacted": ctx["rows_with_pii"],
        "PII redaction": "on" if ctx["pii_enabled"] else "OFF",
        "dataset": f"<code>{e(ctx['dataset_dir'])}</code>", "generated": e(ctx["generated"]),
    }
    accounting_chart = _bar_chart("Rows through the data stages", ctx["accounting"], "#4c78a8")
    pii_chart = _bar_chart("Rows with each PII entity type", list(ctx["entities"].items()), "#e45756")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Dataset review {e(d[:12])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Dataset review <code>{e(d[:12])}</code></h1>",
        f"<p class='status {e(ctx['status']['status'])}'>{e(_status_line(ctx['status']))}</p>",
        "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts.items()) + "</table>",
        "<h2>Decision</h2><p>Approve (training may use exactly this digest) or reject:</p>",
        f"<pre>{e(approval.approve_command(d))}\n{e(approval.reject_command(d))}</pre>",
        "<h2>Row accounting</h2>",
        _html_chart(accounting_chart, "row accounting"),
        _html_table(("step", "rows"), ctx["accounting"], "No counts."),
    ]
    if ctx["missing"]:
        parts.append(f"<p>Summaries not available for: {e(', '.join(ctx['missing']))}.</p>")
    for title, header, rows, empty in count_tables(ctx):
        chart = _html_chart(pii_chart, "PII entities") if header[0] == "entity" else ""
        parts += [f"<h2>{e(title)}</h2>", chart, _html_table(header, rows, empty)]
    parts.append(f"<h2>Redacted examples</h2><p>{EXAMPLES_NOTE}</p>")
    for i, ex in enumerate(ctx["examples"], 1):
        parts.append(f"<div class='example'><h3>Example {i}: {e(_labels(ex))}</h3>")
        for col in ("prompt", "context", "response"):
            if ex.get(col):
                parts.append(f"<p><b>{col}</b></p><pre>{e(_clip(ex[col]))}</pre>")
        parts.append("</div>")
    if not ctx["examples"]:
        parts.append("<p>No rows with PII.</p>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def _html_chart(png: str | None, alt: str) -> str:
    return f"<img alt='{alt}' src='data:image/png;base64,{png}'>" if png else ""


def _html_table(header: tuple[str, str], rows: list, empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    e = html.escape
    body = "".join(f"<tr><td>{e(str(k))}</td><td class='n'>{v}</td></tr>" for k, v in rows)
    return f"<table><tr><th>{e(header[0])}</th><th>{e(header[1])}</th></tr>{body}</table>"


def _metric_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", key)


def review_metrics(ctx: dict, upstream: dict) -> dict[str, float]:
    metrics = {"rows": ctx["rows"], "rows_with_pii": ctx["rows_with_pii"]}
    metrics.update({f"pii.{k}": v for k, v in ctx["entities"].items()})

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "per_source":
                    walk(f"{prefix}.{k}", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics[_metric_name(prefix)] = value

    for stage in ("ingest", "clean"):
        walk(stage, upstream.get(stage) or {})
    return {k: float(v) for k, v in metrics.items()}


def _log_review(cfg: Config, run_id: str, ctx: dict, upstream: dict, reports: dict[str, str]) -> None:
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=tracking.tracking_uri(cfg))
    run = client.get_run(run_id)
    now = int(time.time() * 1000)
    params = {"digest": ctx["digest"], "rows": ctx["rows"]}
    tags = {"tunepipe.review.dataset_dir": ctx["dataset_dir"]}
    if approval.STATUS_TAG not in run.data.tags:
        tags[approval.STATUS_TAG] = approval.PENDING
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in review_metrics(ctx, upstream).items()],
        params=[Param(k, str(v)) for k, v in params.items() if k not in run.data.params],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    for name, text in reports.items():
        client.log_text(run_id, text, f"report/{name}")


def _log_to_active_run(summary: dict, reports: dict[str, str]) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    mlflow.set_tags(
        {"tunepipe.digest": summary["digest"], "tunepipe.review_run_id": summary["review_run_id"]}
    )
    for name, text in reports.items():
        mlflow.log_text(text, f"review/{name}")


def write_review_report(
    cfg: Config, dataset_dir: str | Path, html_path: str | Path, md_path: str | Path, upstream: dict
) -> dict:
    """Write the HTML and Markdown review report of `dataset_dir`, logged to its MLflow review run."""
    upstream = upstream or {}
    digest = dataset_digest(dataset_dir)
    run_id = approval.review_run_id(cfg, digest)
    status = approval.approval_status(cfg, digest)
    ctx = build_context(cfg, dataset_dir, upstream, digest, status)
    reports = {"review.html": render_html(ctx), "review.md": render_markdown(ctx)}
    for path, text in ((Path(html_path), reports["review.html"]), (Path(md_path), reports["review.md"])):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _log_review(cfg, run_id, ctx, upstream, reports)
    summary = {"digest": digest, "review_run_id": run_id, "status": status["status"],
               "html": str(html_path), "md": str(md_path)}
    _log_to_active_run(summary, reports)
    return summary
