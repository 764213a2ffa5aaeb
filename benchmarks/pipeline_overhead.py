"""Orchestration overhead: the kfp local pipeline vs the same stage functions called in one process.

    .venv/bin/python benchmarks/pipeline_overhead.py [--n 240] [--out docs/benchmarks/pipeline_overhead.json]

Both sides run on the tiny model, the same generated data, and fresh project dirs (no cache). The
pipeline runs twice: with warm steps (`project.warm_steps`, the default: steps fork from one process that
has imported MLflow, kfp and torch) and with every step a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def make_config(root: Path, n: int):
    from tunepipe.config import load_config
    from tunepipe.training.tiny import build_tiny_model

    data = root / "data.jsonl"
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", "3", "--n", str(n),
                    "--out", str(data)], check=True, capture_output=True)
    model = build_tiny_model(str(root / "tiny"))
    return load_config(REPO / "examples/demo.yaml", [
        f"project.data_dir={root / '.tunepipe'}", f"data.paths=[{data}]", f"model.base={model}",
        "model.max_seq_len=128", "training.max_steps=4", "evaluation.max_samples=4",
        "evaluation.max_new_tokens=8", "evaluation.gate.min_rouge_l_gain=-1", "serving.max_new_tokens=8",
        "data.max_quarantine_rate=0.1",
    ])


def run_direct(cfg) -> float:
    """Every stage function once, in order, in this process (one Spark session, one MLflow client)."""
    from tunepipe.data_quality.clean import clean_records
    from tunepipe.data_quality.dedup import deduplicate
    from tunepipe.data_quality.ingest import ingest
    from tunepipe.data_quality.split import split_dataset
    from tunepipe.evaluation.evaluate import evaluate
    from tunepipe.evaluation.gate import eval_gate
    from tunepipe.governance.approval import gate
    from tunepipe.pii.stage import redact_pii
    from tunepipe.review.report import write_review_report
    from tunepipe.registry.register import register_model
    from tunepipe.serving.smoke import smoke_test
    from tunepipe.tracking import setup_mlflow

    d = Path(cfg.project.data_dir) / "direct"
    start = time.perf_counter()
    setup_mlflow(cfg)
    up = {"ingest": ingest(cfg, str(d / "records"), str(d / "quarantine"))}
    up["clean"] = clean_records(cfg, str(d / "records"), str(d / "cleaned"), str(d / "removed_clean"))
    up["dedup"] = deduplicate(cfg, str(d / "cleaned"), str(d / "deduped"), str(d / "removed_dedup"))
    up["pii"] = redact_pii(cfg, str(d / "deduped"), str(d / "redacted"))
    review = write_review_report(cfg, str(d / "redacted"), str(d / "r.html"), str(d / "r.md"), up)
    approval = gate(cfg, review["digest"])
    split_dataset(cfg, str(d / "redacted"), str(d / "train"), str(d / "val"), str(d / "test"), review["digest"])
    finetune_summary_path = d / "model"
    from tunepipe.training.launch import finetune

    finetune(cfg, str(d / "train"), str(d / "val"), str(finetune_summary_path), review["digest"])
    metrics = evaluate(cfg, str(finetune_summary_path), str(d / "test"), str(d / "eval.html"))
    if eval_gate(cfg, metrics)["passed"]:
        reg = register_model(cfg, str(finetune_summary_path), metrics, {"dataset_digest": approval["digest"]})
        smoke_test(cfg, reg["uri"])
    return time.perf_counter() - start


def run_pipeline(cfg, warm: bool) -> float:
    from tunepipe.pipelines.local import run_local

    cfg.project.warm_steps = warm
    return run_local(cfg, cache=False).seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--out", default=str(REPO / "docs/benchmarks/pipeline_overhead.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b, tempfile.TemporaryDirectory() as c:
        pipeline_s = run_pipeline(make_config(Path(a), args.n), warm=True)
        direct_s = run_direct(make_config(Path(b), args.n))
        cold_s = run_pipeline(make_config(Path(c), args.n), warm=False)
    result = {"records": args.n, "kfp_local_pipeline_s": round(pipeline_s, 1),
              "direct_in_process_s": round(direct_s, 1), "ratio": round(pipeline_s / direct_s, 2),
              "kfp_local_pipeline_cold_steps_s": round(cold_s, 1), "ratio_cold_steps": round(cold_s / direct_s, 2)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
