"""The data card: what the prepared dataset holds and how it got there, for people and for MLflow.

`write_data_card` writes a self-contained HTML page (token-length histograms as embedded PNG) and a
Markdown twin: the content digest, the per-source row accounting, quarantine and filter reasons,
record shapes, token-length statistics, the largest near-duplicate clusters (their example redacted by
the PII policy: the card describes the dataset before the PII step) and the schema. With an
active MLflow run it logs both files and records the dataset with `mlflow.log_input` (digest, source
and schema; the rows stay where they are). Histograms are aggregated by Spark; no rows reach the driver.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import functions as F

from tunepipe import htmlreport
from tunepipe.config import Config
from tunepipe.data_quality.accounting import accounting
from tunepipe.data_quality.common import read_dataset
from tunepipe.data_quality.spark import get_spark
from tunepipe.digest import spark_digest
from tunepipe.pii.examples import redact_examples

TOKEN_COLUMNS = ("prompt_tokens", "response_tokens")
N_BINS = 30


def token_histograms(df) -> tuple[dict, dict]:
    """({column: [(bin start, rows)]}, {column: {min, mean, p50, p95, max}}) for the token columns."""
    cols = [c for c in TOKEN_COLUMNS if c in df.columns]
    if not cols:
        return {}, {}
    aggs = [f(c).alias(f"{c}_{n}") for c in cols for n, f in (("min", F.min), ("max", F.max), ("mean", F.avg))]
    aggs += [F.percentile_approx(c, [0.5, 0.95]).alias(f"{c}_pct") for c in cols]
    row = df.agg(*aggs).first().asDict()
    hists, stats = {}, {}
    for c in cols:
        lo, hi = row[f"{c}_min"], row[f"{c}_max"]
        if lo is None:
            continue
        p50, p95 = row[f"{c}_pct"]
        stats[c] = {"min": lo, "mean": round(row[f"{c}_mean"], 1), "p50": p50, "p95": p95, "max": hi}
        width = max(1, math.ceil((hi - lo + 1) / N_BINS))
        counts = df.groupBy(F.floor((F.col(c) - lo) / width).alias("b")).count().collect()
        hists[c] = sorted((lo + r["b"] * width, r["count"]) for r in counts if r["b"] is not None)
    return hists, stats


def build_card(cfg: Config, dataset_dir: str, summaries: dict) -> dict:
    spark = get_spark(cfg)
    df = read_dataset(spark, dataset_dir, "prepared dataset")
    hists, stats = token_histograms(df)
    ingest, clean, dedup = (summaries.get(k) or {} for k in ("ingest", "clean", "dedup"))
    return {
        "name": cfg.project.name,
        "dataset_dir": str(dataset_dir),
        "digest": spark_digest(df),
        "rows": df.count(),
        "schema": [(f.name, f.dataType.simpleString()) for f in df.schema.fields],
        "accounting": accounting(ingest, clean, dedup),
        "shapes": ingest.get("shapes", {}),
        "skipped_files": ingest.get("skipped_files", []),
        "token_stats": stats,
        "token_histograms": hists,
        "clusters": shown_clusters(cfg, dedup.get("largest_clusters", [])),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _accounting_rows(card: dict) -> list[tuple]:
    acc = card["accounting"]
    rows = [(src, r["input"], r["quarantined"], r["filtered"], r["exact_duplicates"], r["near_duplicates"],
             r["kept"], "yes" if r["balanced"] else "NO") for src, r in acc["per_source"].items()]
    t = acc["total"]
    return rows + [("TOTAL", t.get("input", 0), t.get("quarantined", 0), t.get("filtered", 0),
                    t.get("exact_duplicates", 0), t.get("near_duplicates", 0), t.get("kept", 0),
                    "yes" if t["balanced"] else "NO")]


ACCOUNTING_HEADER = ("source", "input", "quarantined", "filtered", "exact dup", "near dup", "kept", "adds up")


def _tables(card: dict) -> list[tuple[str, tuple, list, str]]:
    total = card["accounting"]["total"]
    return [
        ("Row accounting per source", ACCOUNTING_HEADER, _accounting_rows(card), "No rows."),
        ("Quarantine reasons", ("reason", "rows"), list(total["quarantine_reasons"].items()), "None."),
        ("Quality filters", ("filter", "rows"), list(total["filter_reasons"].items()), "None."),
        ("Record shapes", ("shape", "rows"), list(card["shapes"].items()), "Unknown."),
        ("Token lengths", ("column", "min", "mean", "p50", "p95", "max"),
         [(c, *s.values()) for c, s in card["token_stats"].items()], "No token counts in this dataset."),
        ("Largest near-duplicate clusters", ("representative", "size", "example"),
         [(c.get("representative"), c.get("size"), htmlreport.clip(_first_example(c), 160))
          for c in card["clusters"]], "No near-duplicate clusters."),
        ("Schema", ("column", "type"), card["schema"], "-"),
    ]


def shown_clusters(cfg: Config, clusters: list[dict]) -> list[dict]:
    """The clusters with the one example the card shows, redacted by the PII policy (the dedup summary's
    examples already are, unless it came from an older run or another tool)."""
    shown = redact_examples(cfg, [_first_example(c) for c in clusters])
    return [{**c, "examples": [text]} for c, text in zip(clusters, shown)]


def _first_example(cluster: dict) -> str:
    examples = cluster.get("examples") or [""]
    first = examples[0]
    return first if isinstance(first, str) else str(first)


def _facts(card: dict) -> list[tuple[str, str]]:
    facts = [("digest", card["digest"]), ("rows", str(card["rows"])), ("dataset", card["dataset_dir"]),
             ("generated", card["generated"])]
    if card["skipped_files"]:
        facts.append(("skipped files (unsupported format)", ", ".join(card["skipped_files"])))
    return facts


def render_markdown(card: dict) -> str:
    lines = [f"# Data card: {card['name']}", ""]
    lines += [f"- **{k}:** `{v}`" for k, v in _facts(card)]
    for title, header, rows, empty in _tables(card):
        lines += ["", f"## {title}", "", *htmlreport.md_table(header, rows, empty)]
    return "\n".join(lines) + "\n"


def render_html(card: dict) -> str:
    chart = htmlreport.histogram_chart(
        "Token lengths (configured model's tokenizer)",
        {c: card["token_histograms"][c] for c in card["token_histograms"]}, "tokens")
    return htmlreport.render("data_card.html.j2", title=f"Data card {card['name']}", card=card,
                             facts=_facts(card), tables=_tables(card), token_chart=chart)


def _log_to_mlflow(card: dict, reports: dict[str, str]) -> None:
    import warnings

    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import ColSpec, Schema

    if mlflow.active_run() is None:
        return
    types = {"string": "string", "bigint": "long", "int": "integer", "double": "double", "boolean": "boolean"}
    schema = Schema([ColSpec(types.get(t, "string"), n) for n, t in card["schema"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(card["dataset_dir"])
    dataset = MetaDataset(source=source, name=card["name"],
                          digest=card["digest"][:16], schema=schema)
    mlflow.log_input(dataset, context="prepared")
    mlflow.set_tag("tunepipe.prepared_digest", card["digest"])
    for name, text in reports.items():
        mlflow.log_text(text, f"data_card/{name}")


def write_data_card(cfg: Config, dataset_dir: str, summaries: dict, html_path: str, md_path: str) -> dict:
    """Write the data card of `dataset_dir` (HTML + Markdown), logged to the active MLflow run if any."""
    card = build_card(cfg, dataset_dir, summaries)
    reports = {"data_card.html": render_html(card), "data_card.md": render_markdown(card)}
    for path, name in ((html_path, "data_card.html"), (md_path, "data_card.md")):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(reports[name], encoding="utf-8")
    _log_to_mlflow(card, reports)
    return {"digest": card["digest"], "rows": card["rows"], "accounting": card["accounting"],
            "token_stats": card["token_stats"], "html": str(html_path), "md": str(md_path)}
