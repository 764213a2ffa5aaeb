"""The ingest summary: row accounting per source and reason, the metrics logged to MLflow, and the quarantine-
rate check.
"""

from __future__ import annotations

from tunepipe.config import Config
from tunepipe.data_quality.ingest.discovery import SUPPORTED, Inputs
from tunepipe.data_quality.ingest.shapes import BLANK
from tunepipe.errors import TunepipeError


def empty_dataset_error(cfg: Config, inputs: Inputs, blank_lines: int) -> TunepipeError:
    return TunepipeError(
        f"empty dataset: no records in {', '.join(cfg.data.paths)} ({blank_lines} blank lines, "
        f"{len(inputs.empty)} empty files, {len(inputs.skipped)} skipped files of an unsupported type). "
        f"Point data.paths at {SUPPORTED} files with records."
    )


def summarise(counts) -> dict:
    per_source: dict[str, dict] = {}
    reasons: dict[str, int] = {}
    shapes: dict[str, int] = {}
    blank = multi_turn = 0
    for row in counts:
        src = per_source.setdefault(row["source"], {"input_rows": 0, "valid_rows": 0, "quarantined": 0,
                                                     "quarantine_reasons": {}})
        n = row["count"]
        if row["reason"] == BLANK:
            blank += n
            continue
        src["input_rows"] += n
        if row["reason"] is None:
            src["valid_rows"] += n
            shapes[row["shape"]] = shapes.get(row["shape"], 0) + n
            multi_turn += n if row["multi_turn"] else 0
        else:
            src["quarantined"] += n
            for bucket in (reasons, src["quarantine_reasons"]):
                bucket[row["reason"]] = bucket.get(row["reason"], 0) + n
    for src in per_source.values():
        src["quarantine_reasons"] = dict(sorted(src["quarantine_reasons"].items()))
    total = lambda key: sum(s[key] for s in per_source.values())  # noqa: E731
    return {
        "input_rows": total("input_rows"), "valid_rows": total("valid_rows"),
        "quarantined": total("quarantined"), "quarantine_reasons": dict(sorted(reasons.items())),
        "blank_lines": blank, "shapes": dict(sorted(shapes.items())), "multi_turn_chats": multi_turn,
        "per_source": dict(sorted(per_source.items())),
    }


def ingest_metrics(summary: dict) -> dict:
    rate = summary["quarantined"] / summary["input_rows"] if summary["input_rows"] else 0.0
    keys = ("input_rows", "valid_rows", "quarantined", "blank_lines", "multi_turn_chats")
    return {**{k: summary[k] for k in keys}, "quarantine_rate": rate,
            "quarantine_reasons": summary["quarantine_reasons"],
            "skipped_files": len(summary["skipped_files"]), "empty_files": len(summary["empty_files"])}


def _top_reasons(reasons: dict, n: int = 3) -> str:
    worst = sorted(reasons.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{code} {count}" for code, count in worst)


def _worst_sources(summary: dict, n: int = 3) -> str:
    worst = sorted(summary["per_source"].items(), key=lambda kv: -kv[1]["quarantined"])[:n]
    return "; ".join(f"{src}: {s['quarantined']} of {s['input_rows']} ({_top_reasons(s['quarantine_reasons'], 2)})"
                     for src, s in worst if s["quarantined"])


def check_quarantine_rate(cfg: Config, summary: dict, quarantine_dir: str) -> None:
    where = (f"Most quarantined: {_worst_sources(summary)}. Inspect the quarantine table {quarantine_dir} "
             "(columns source, source_line, reason, detail, raw)")
    if summary["valid_rows"] == 0:
        raise TunepipeError(
            f"no valid records: all {summary['input_rows']} input rows were quarantined "
            f"(top reasons: {_top_reasons(summary['quarantine_reasons'])}). {where} and fix the input files."
        )
    rate = summary["quarantined"] / summary["input_rows"]
    if rate > cfg.data.max_quarantine_rate:
        raise TunepipeError(
            f"{rate:.1%} of input rows were quarantined ({summary['quarantined']} of "
            f"{summary['input_rows']}), above data.max_quarantine_rate={cfg.data.max_quarantine_rate:g} "
            f"(top reasons: {_top_reasons(summary['quarantine_reasons'])}). {where}; fix the source data "
            "or raise the limit."
        )
