"""`tunepipe prepare`: only the data stages, in one process, into one directory a data engineer can read.

    OUT/records  quarantine  cleaned  removed/clean  prepared  removed/dedup   Parquet datasets
    OUT/splits/{train,validation,test}                                         Parquet splits
    OUT/nemo/{training,validation,test}.jsonl + README.md                      NeMo / datasets files
    OUT/data_card.html  OUT/data_card.md                                       the data card
    OUT/prepare_summary.json        accounting per source and in total, stage summaries, digest

The same stage functions run here as in the pipeline. PII redaction and the approval gate are not
part of it (the pipeline runs them between deduplication and the split), so these splits are not
redacted: use them to inspect and tune the data stages, and train through the pipeline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.data_quality.accounting import accounting, check_balanced
from tunepipe.data_quality.clean import clean_records
from tunepipe.data_quality.datacard import write_data_card
from tunepipe.data_quality.dedup import deduplicate
from tunepipe.data_quality.export import export_splits
from tunepipe.data_quality.ingest import ingest
from tunepipe.data_quality.split import split_dataset

SUMMARY_FILE = "prepare_summary.json"

OnStage = Callable[[str, dict, float], None]


def _timed(name: str, fn, timings: dict, on_stage: OnStage | None) -> dict:
    start = time.perf_counter()
    summary = fn()
    timings[name] = round(time.perf_counter() - start, 2)
    if on_stage:
        on_stage(name, summary, timings[name])
    return summary


def _run_stages(cfg: Config, out: Path, on_stage: OnStage | None) -> dict:
    d = {name: str(out / name) for name in ("records", "quarantine", "cleaned", "prepared")}
    splits = {s: str(out / "splits" / s) for s in ("train", "validation", "test")}
    t: dict = {}
    s = {"ingest": _timed("ingest", lambda: ingest(cfg, d["records"], d["quarantine"]), t, on_stage)}
    s["clean"] = _timed("clean", lambda: clean_records(cfg, d["records"], d["cleaned"],
                                                       str(out / "removed" / "clean")), t, on_stage)
    s["dedup"] = _timed("dedup", lambda: deduplicate(cfg, d["cleaned"], d["prepared"],
                                                     str(out / "removed" / "dedup")), t, on_stage)
    card = _timed("data_card", lambda: write_data_card(cfg, d["prepared"], s, str(out / "data_card.html"),
                                                       str(out / "data_card.md")), t, on_stage)
    s["split"] = _timed("split", lambda: split_dataset(cfg, d["prepared"], *splits.values(), card["digest"]),
                        t, on_stage)
    s["export"] = _timed("export", lambda: export_splits(cfg, *splits.values(), str(out / "nemo"),
                                                         card["digest"]), t, on_stage)
    return {"digest": card["digest"], "stages": s, "seconds": t, "token_stats": card["token_stats"]}


def prepare(cfg: Config, out_dir: str | Path, on_stage: OnStage | None = None) -> dict:
    """Run ingest, clean, dedup, data card, split and export into `out_dir`; write prepare_summary.json."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tracking.stage_run(cfg, "prepare"):
        result = _run_stages(cfg, out, on_stage)
        stages = result["stages"]
        report = accounting(stages["ingest"], stages["clean"], stages["dedup"])
        summary = {"out_dir": str(out), "digest": result["digest"], **report,
                   "splits": {k: stages["split"].get(k) for k in ("train", "validation", "test")},
                   "token_stats": result["token_stats"], "seconds": result["seconds"], "stages": stages}
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
        tracking.log_metrics({"total": report["total"], "seconds": result["seconds"]}, prefix="prepare.")
        check_balanced(report)
    return summary
