"""The dataset review report: what a reviewer reads before approving a dataset digest.

`write_review_report` writes a self-contained HTML page (charts embedded as PNG data) and a Markdown
twin: the digest and redaction policy version, how every input row was accounted for, PII found per
entity type and the action taken, per-source counts, responsible-AI flags, what was quarantined or
dropped (ingest and PII stages), a few redacted examples (never raw text: the dataset holds only the
redacted records), where the data card is, and the exact approve/reject commands. Both files and a
`review.json` of the counts (read by `tunepipe review show`) are logged to the digest's "dataset
review" run in MLflow, which is where the decision is recorded (see `rai.approval`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from tunepipe import artifacts, htmlreport, tracking
from tunepipe.config import Config
from tunepipe.governance import approval
from tunepipe.pii.stage import ENTITIES_COLUMN

N_EXAMPLES = 5
DATA_CARD_ARTIFACT = "data_card/data_card.html"
KFP_DATA_CARD = "the `card` (HTML) and `card_md` (Markdown) outputs of the data-card step of this Kubeflow run"
log = logging.getLogger(__name__)
EXAMPLES_NOTE = ("Only the redacted form is shown (after); the raw text (before) never leaves the PII stage. "
                 "The heading lists the entity types that were replaced.")


def dataset_digest(dataset_dir: str | Path) -> str:
    """The digest of the rows as they are now: recomputed, never taken from the summary beside them
    (a file edited after the PII stage would otherwise be reviewed under the digest it had before)."""
    from tunepipe.digest import parquet_digest

    actual = parquet_digest(dataset_dir)
    recorded = artifacts.read_summary(dataset_dir).get("digest")
    if recorded and recorded != actual:
        log.warning("the rows changed after the PII stage (it recorded digest %s, they now have %s): "
                    "reviewing the rows as they are now", recorded[:12], actual[:12])
    return actual


def pick_examples(dataset_dir: str | Path, n: int = N_EXAMPLES, scan: int = 500) -> list[dict]:
    """Up to `n` redacted rows with PII, chosen to show as many entity types as possible."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    data = ds.dataset(str(dataset_dir), format="parquet")
    if ENTITIES_COLUMN not in data.schema.names:
        return []
    wanted = ("record_id", "source", "prompt", "context", "response", ENTITIES_COLUMN)
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


def row_accounting(upstream: dict, pii: dict, final_rows: int) -> list[tuple[str, int]]:
    """(label, rows) from the raw input to the reviewed dataset, as far as the summaries tell."""
    ingest, clean = upstream.get("ingest") or {}, upstream.get("clean") or {}
    dedup = upstream.get("dedup") or {}
    steps = [
        ("input rows", ingest.get("input_rows")),
        ("quarantined at ingest", ingest.get("quarantined")),
        ("valid after ingest", ingest.get("valid_rows")),
        ("filtered by quality rules", sum(clean["filtered"].values()) if "filtered" in clean else None),
        ("kept after cleaning", clean.get("kept")),
        ("exact duplicates removed", dedup.get("exact_duplicates")),
        ("near duplicates removed", dedup.get("near_duplicates")),
        ("kept after deduplication", dedup.get("kept")),
        ("dropped by PII/RAI policy", pii.get("dropped")),
        ("quarantined by PII/RAI screens", pii.get("quarantined")),
        ("reviewed dataset", final_rows),
    ]
    return [(label, int(v)) for label, v in steps if isinstance(v, (int, float))]


def action_counts(cfg: Config, pii: dict) -> tuple[list[tuple[str, str, int]], bool]:
    """([(entity, action, count)], measured): the stage's counts, else rows per entity with the configured action."""
    measured = pii.get("actions") or {}
    if measured:
        rows = [(t, a, int(n)) for t, acts in measured.items() for a, n in (acts or {}).items()]
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1])), True
    configured = [(t, cfg.pii.actions.get(t, cfg.pii.default_action), int(n))
                  for t, n in (pii.get("entities") or {}).items()]
    return sorted(configured, key=lambda r: (-r[2], r[0])), False


PER_SOURCE_HEADER = ("source", "input", "quarantined at ingest", "PII stage rows", "with PII",
                     "dropped (PII/RAI)", "quarantined (PII/RAI)")


def per_source_rows(upstream: dict, pii: dict) -> list[tuple]:
    ingest = (upstream.get("ingest") or {}).get("per_source") or {}
    screened = pii.get("per_source") or {}

    def cell(d: dict, key: str):
        return d.get(key, "-") if d else "-"

    return [
        (src, cell(ingest.get(src), "input_rows"), cell(ingest.get(src), "quarantined"),
         cell(screened.get(src), "rows"), cell(screened.get(src), "rows_with_pii"),
         cell(screened.get(src), "dropped"), cell(screened.get(src), "quarantined"))
        for src in sorted(set(ingest) | set(screened))
    ]


def quarantine_rows(upstream: dict, pii: dict) -> list[tuple[str, str, int]]:
    """(stage, reason, rows) for every row kept out of the dataset for review or dropped by policy."""
    ingest, clean = upstream.get("ingest") or {}, upstream.get("clean") or {}
    rows = [("ingest", r, n) for r, n in (ingest.get("quarantine_reasons") or {}).items()]
    rows += [("clean", f"filtered: {r}", n) for r, n in (clean.get("filtered") or {}).items()]
    reasons = pii.get("quarantine_reasons") or {}
    rows += [("PII/RAI", f"quarantined: {r}", n) for r, n in reasons.items()]
    if not reasons and pii.get("quarantined"):
        rows.append(("PII/RAI", "quarantined for review", pii["quarantined"]))
    if pii.get("dropped"):
        rows.append(("PII/RAI", "dropped by policy", pii["dropped"]))
    return [(s, r, int(n)) for s, r, n in rows]


def _data_card_run(cfg: Config, prepared_digest: str | None):
    """The MLflow run holding this pipeline run's data card (a sibling of the active run), or None."""
    import mlflow

    active = mlflow.active_run()
    parent = active.data.tags.get("mlflow.parentRunId") if active else None
    if not parent and not prepared_digest:
        return None
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri(cfg))
    where = [f"tags.`mlflow.parentRunId` = '{parent}'"] if parent else []
    if prepared_digest:
        where.append(f"tags.`tunepipe.prepared_digest` = '{prepared_digest}'")
    exp_id = client.get_run(parent).info.experiment_id if parent else tracking.ensure_experiment(cfg)
    runs = client.search_runs([exp_id], " and ".join(where), max_results=20,
                              order_by=["attributes.start_time DESC"])
    return next((r for r in runs if "tunepipe.prepared_digest" in r.data.tags), None)


def data_card_link(cfg: Config, upstream: dict) -> dict:
    """Where the data card is: its MLflow run and artifact path when found, else the KFP artifact."""
    card = upstream.get("data_card") or {}
    prepared = card.get("digest") or (upstream.get("dedup") or {}).get("digest")
    run = _data_card_run(cfg, prepared)
    if run is not None:
        return {"mlflow_run_id": run.info.run_id, "artifact_path": DATA_CARD_ARTIFACT,
                "uri": f"runs:/{run.info.run_id}/{DATA_CARD_ARTIFACT}",
                "location": f"{run.info.artifact_uri}/{DATA_CARD_ARTIFACT}"}
    if card.get("html"):
        return {"location": card["html"], "markdown": card.get("md")}
    return {"location": KFP_DATA_CARD}


def describe_data_card(link: dict) -> str:
    if link.get("mlflow_run_id"):
        return f"MLflow run {link['mlflow_run_id']}, artifact {link['artifact_path']} ({link['location']})"
    return link["location"]


def build_context(cfg: Config, dataset_dir: str | Path, upstream: dict, digest: str, status: dict) -> dict:
    pii = {**(upstream.get("pii") or {}), **artifacts.read_summary(dataset_dir)}
    rows = int(pii.get("kept", pii.get("rows", len(artifacts.read_parquet_dir(dataset_dir)))))
    entities = dict(sorted((pii.get("entities") or {}).items(), key=lambda kv: (-kv[1], kv[0])))
    ingest, clean = upstream.get("ingest") or {}, upstream.get("clean") or {}
    actions, measured = action_counts(cfg, pii)
    return {
        "digest": digest,
        "policy_version": pii.get("policy_version") or approval.policy_version(cfg),
        "dataset_dir": str(dataset_dir),
        "rows": rows,
        "rows_with_pii": int(pii.get("rows_with_pii", 0)),
        "pii_enabled": pii.get("pii_enabled", cfg.pii.enabled),
        "entities": entities,
        "actions": actions,
        "actions_measured": measured,
        "dropped": pii.get("dropped"),
        "quarantined": pii.get("quarantined"),
        "rai_flags": dict(sorted((pii.get("rai_flags") or {}).items(), key=lambda kv: (-kv[1], kv[0]))),
        "per_source": per_source_rows(upstream, pii),
        "quarantine": quarantine_rows(upstream, pii),
        "accounting": row_accounting(upstream, pii, rows),
        "missing": [k for k, v in (("ingest", ingest), ("clean", clean), ("pii", pii)) if not v],
        "examples": pick_examples(dataset_dir),
        "data_card": data_card_link(cfg, upstream),
        "launched_by": approval.launched_by(cfg),
        "four_eyes": cfg.approval.four_eyes,
        "status": status,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "project": cfg.project.name,
    }


def status_line(status: dict, policy: str) -> str:
    """One line for the reviewer: pending, approved or rejected, and whether it still holds."""
    if status["status"] == approval.PENDING:
        return "PENDING: not approved yet; training refuses this dataset until it is approved."
    who = f"{status['status'].upper()} by {status['reviewer']} at {status['time']}"
    line = who + (f": {status['note']}" if status.get("note") else "")
    decided_under = status.get("policy_version")
    if status["status"] == approval.APPROVED and decided_under != policy:
        line += (f" (under policy {decided_under or 'unknown'}; this data was redacted under policy {policy}: "
                 "it needs a new approval)")
    return line


CODE_FACTS = ("digest", "policy version", "dataset")


def _facts(ctx: dict) -> list[tuple[str, str]]:
    launcher = ctx["launched_by"] or "unknown"
    return [
        ("digest", ctx["digest"]),
        ("policy version", ctx["policy_version"]),
        ("rows", f"{ctx['rows']} ({ctx['rows_with_pii']} with PII redacted)"),
        ("PII redaction", "on" if ctx["pii_enabled"] else "OFF"),
        ("launched by", launcher + (" (four eyes: another person must approve)" if ctx["four_eyes"] else "")),
        ("dataset", ctx["dataset_dir"]),
        ("data card", describe_data_card(ctx["data_card"])),
        ("generated", ctx["generated"]),
    ]


def count_tables(ctx: dict) -> list[tuple[str, tuple[str, ...], list, str]]:
    """(title, header, rows, text when empty) for each count table, in report order."""
    action_title = ("PII by entity type and action" if ctx["actions_measured"]
                    else "PII by entity type (rows containing it) and the configured action")
    return [
        ("Row accounting", ("step", "rows"), ctx["accounting"], "No counts."),
        ("Per source", PER_SOURCE_HEADER, ctx["per_source"], "No per-source counts."),
        (action_title, ("entity", "action", "count"), ctx["actions"], "None found."),
        ("Responsible-AI flags (rows)", ("flag", "rows"), list(ctx["rai_flags"].items()), "None flagged."),
        ("Quarantined, filtered and dropped rows", ("stage", "reason", "rows"), ctx["quarantine"], "None."),
    ]


def charts(ctx: dict) -> dict[str, str | None]:
    """Chart per table title (PNG base64), for the tables that have one."""
    titles = [t[0] for t in count_tables(ctx)]
    return {
        titles[0]: htmlreport.bar_chart("Rows through the data stages", ctx["accounting"], "#4c78a8"),
        titles[2]: htmlreport.bar_chart("PII by entity type and action",
                                        [(f"{t}: {a}", n) for t, a, n in ctx["actions"]], "#e45756"),
        titles[3]: htmlreport.bar_chart("Responsible-AI flags", list(ctx["rai_flags"].items()), "#f58518"),
        titles[4]: htmlreport.bar_chart("Rows kept out of the dataset",
                                        [(f"{s}: {r}", n) for s, r, n in ctx["quarantine"]], "#9d755d"),
    }


def _labels(example: dict) -> str:
    return example[ENTITIES_COLUMN].replace(",", ", ")


def render_markdown(ctx: dict) -> str:
    d = ctx["digest"]
    lines = [
        f"# Dataset review `{d[:12]}`", "",
        f"- **Status:** {status_line(ctx['status'], ctx['policy_version'])}",
        *(f"- **{k[0].upper() + k[1:]}:** " + (f"`{v}`" if k in CODE_FACTS else v) for k, v in _facts(ctx)), "",
        "## Decision", "", "Approve (training may use exactly this digest under this policy) or reject:", "",
        "```", approval.approve_command(d), approval.reject_command(d), "```",
    ]
    if ctx["missing"]:
        lines += ["", f"Summaries not available for: {', '.join(ctx['missing'])}."]
    for title, header, rows, empty in count_tables(ctx):
        lines += ["", f"## {title}", "", *htmlreport.md_table(header, rows, empty)]
    lines += ["", "## Redacted examples", "", EXAMPLES_NOTE, ""]
    for i, ex in enumerate(ctx["examples"], 1):
        lines += [f"### Example {i}: {_labels(ex)}", ""]
        for col in ("prompt", "context", "response"):
            if ex.get(col):
                lines += [f"**{col}** (redacted)", "", "~~~text",
                          htmlreport.clip(ex[col]).replace("~~~", "~ ~ ~"), "~~~", ""]
    if not ctx["examples"]:
        lines.append("No rows with PII.")
    return "\n".join(lines).rstrip() + "\n"


def render_html(ctx: dict) -> str:
    d, status = ctx["digest"], ctx["status"]
    examples = [{"labels": _labels(ex), "parts": [(col, htmlreport.clip(ex[col])) for col in
                                                  ("prompt", "context", "response") if ex.get(col)]}
                for ex in ctx["examples"]]
    return htmlreport.render(
        "review.html.j2", title=f"Dataset review {d[:12]}", digest=d, status_class=status["status"],
        status_line=status_line(status, ctx["policy_version"]), facts=_facts(ctx),
        approve_command=approval.approve_command(d), reject_command=approval.reject_command(d),
        missing=ctx["missing"], tables=count_tables(ctx), charts=charts(ctx), examples_note=EXAMPLES_NOTE,
        examples=examples)


def review_json(ctx: dict, paths: dict[str, str]) -> dict:
    """The counts `tunepipe review show` prints: the context without examples, plus the report files."""
    keep = ("digest", "policy_version", "rows", "rows_with_pii", "pii_enabled", "entities", "actions",
            "dropped", "quarantined",
            "actions_measured", "rai_flags", "per_source", "quarantine", "accounting", "data_card",
            "launched_by", "four_eyes", "generated", "dataset_dir")
    return {**{k: ctx[k] for k in keep}, "report_files": paths}


def _metric_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", key)


def review_metrics(ctx: dict, upstream: dict) -> dict[str, float]:
    metrics = {"rows": ctx["rows"], "rows_with_pii": ctx["rows_with_pii"]}
    metrics.update({f"pii.{k}": v for k, v in ctx["entities"].items()})
    metrics.update({f"pii.action.{t}.{a}": n for t, a, n in ctx["actions"] if ctx["actions_measured"]})
    metrics.update({f"rai.{k}": v for k, v in ctx["rai_flags"].items()})

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "per_source":
                    walk(f"{prefix}.{k}", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics[_metric_name(prefix)] = value

    for stage in ("ingest", "clean", "dedup"):
        walk(stage, upstream.get(stage) or {})
    metrics.update({f"pii.{k}": ctx[k] for k in ("dropped", "quarantined") if isinstance(ctx[k], (int, float))})
    return {_metric_name(k): float(v) for k, v in metrics.items()}


def _log_review(cfg: Config, run_id: str, ctx: dict, upstream: dict, reports: dict[str, str]) -> None:
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=tracking.tracking_uri(cfg))
    run = client.get_run(run_id)
    now = int(time.time() * 1000)
    params = {"digest": ctx["digest"], "rows": ctx["rows"]}
    tags = {
        "tunepipe.review.dataset_dir": ctx["dataset_dir"],
        approval.POLICY_TAG: ctx["policy_version"],
        approval.LAUNCHED_BY_TAG: ctx["launched_by"],
        approval.FOUR_EYES_TAG: "true" if ctx["four_eyes"] else "false",
    }
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
    mlflow.set_tags({"tunepipe.digest": summary["digest"], "tunepipe.review_run_id": summary["review_run_id"],
                     approval.POLICY_TAG: summary["policy_version"]})
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
    paths = {"html": str(html_path), "md": str(md_path)}
    reports = {"review.html": render_html(ctx), "review.md": render_markdown(ctx),
               "review.json": json.dumps(review_json(ctx, paths), indent=2, default=str)}
    for path, name in ((Path(html_path), "review.html"), (Path(md_path), "review.md")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reports[name], encoding="utf-8")
    _log_review(cfg, run_id, ctx, upstream, reports)
    summary = {"digest": digest, "policy_version": ctx["policy_version"], "review_run_id": run_id,
               "status": status["status"], "data_card": ctx["data_card"], **paths}
    _log_to_active_run(summary, reports)
    return summary


def load_review_summary(cfg: Config, review_run_id: str) -> dict | None:
    """The `review.json` counts logged on a review run, or None when no report was written for it."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking.setup_mlflow(cfg))
    if "report/review.json" not in {a.path for a in client.list_artifacts(review_run_id, "report")}:
        return None
    return approval.load_json_artifact(cfg, review_run_id, "report/review.json")
