"""Evaluation benchmark: answer generation rows/s batched vs one row at a time, and interval widths.

1. Greedy generation with the demo's prompts (chat template, system prompt, contexts) and settings
   (max_new_tokens 40) on SmolLM2-135M-Instruct: `evaluation.batch_size` rows per generate call vs one row
   per call, on the same rows, measured alternately (the machine is shared; its load drifts), plus the
   answer-loss pass. Reports rows/s and the ratio.
2. With --evaluation PATH (an evaluation.json, e.g. the demo's under .tunepipe/pipeline_root/...), the 95%
   interval widths of candidate - base and candidate - champion at that run's sample sizes: the smallest gain
   the demo can tell from noise.

    .venv/bin/python benchmarks/evaluation.py [--rows 16] [--evaluation PATH] [--out docs/benchmarks/evaluation.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def demo_rows(n: int) -> list[dict]:
    """The first `n` demo records of each shape in turn, as the internal schema (prompt, context, response)."""
    rows, shapes = [], {"rag": [], "chat": [], "prompt_completion": []}
    for line in (REPO / "examples/data/support.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "question" in r and "answer" in r:
            shapes["rag"].append({"prompt": r["question"], "context": "\n\n".join(r["contexts"]), "response": r["answer"]})
        elif "messages" in r and len(r["messages"]) >= 2:
            shapes["chat"].append({"prompt": r["messages"][0]["content"], "context": None,
                                   "response": r["messages"][1]["content"]})
        elif "input" in r and "output" in r:
            shapes["prompt_completion"].append({"prompt": r["input"], "context": None, "response": r["output"]})
    while len(rows) < n:
        for name, items in shapes.items():
            if items and len(rows) < n:
                rows.append({**items.pop(0), "shape": name})
    return rows


def generation(cfg, rows: list[dict], repeats: int) -> dict:
    from tunepipe.evaluation.scoring import generate_answers
    from tunepipe.training.methods import load_trained
    from tunepipe.training.models import resolve_base_model
    from tunepipe.training.peft_backend import set_threads

    set_threads()
    model, tokenizer = load_trained(cfg, resolve_base_model(cfg))
    batched_cfg = cfg.model_copy(deep=True)
    single_cfg = cfg.model_copy(deep=True)
    single_cfg.evaluation.batch_size = 1
    times = {"batched": [], "one_at_a_time": []}
    for _ in range(repeats):
        for name, c in (("batched", batched_cfg), ("one_at_a_time", single_cfg)):
            start = time.perf_counter()
            answers = generate_answers(c, model, tokenizer, rows)
            times[name].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    return {"rows": len(rows), "batch_size": cfg.evaluation.batch_size, "max_new_tokens": cfg.evaluation.max_new_tokens,
            "seconds": times, "rows_per_s": {k: len(rows) / v for k, v in best.items()},
            "ratio_batched_vs_one": best["one_at_a_time"] / best["batched"], "example_answer": answers[0][:200]}


def loss_pass(cfg, rows: list[dict]) -> dict:
    from tunepipe.evaluation.scoring import _loss_columns
    from tunepipe.training.methods import load_trained
    from tunepipe.training.models import resolve_base_model

    model, tokenizer = load_trained(cfg, resolve_base_model(cfg))
    start = time.perf_counter()
    _loss_columns(cfg, model, tokenizer, rows)
    seconds = time.perf_counter() - start
    return {"rows": len(rows), "seconds": seconds, "rows_per_s": len(rows) / seconds}


def widths(path: Path) -> dict:
    result = json.loads(path.read_text())
    out = {}
    for pair, table in result["deltas"].items():
        out[pair] = {m: {"n": d["n"], "delta": d["value"], "low": d["low"], "high": d["high"],
                         "half_width": (d["high"] - d["low"]) / 2} for m, d in table.items()}
    return {"evaluation": str(path), "n_loss_rows": result["test"].get("n_loss_rows"),
            "n_generated": result["test"].get("n_generated"), "deltas": out, "gate": result.get("gate")}


def main() -> None:
    from tunepipe.config import load_config

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--evaluation", type=Path, help="an evaluation.json to read interval widths from")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cfg = load_config(REPO / "examples/demo.yaml", base=REPO)
    rows = demo_rows(args.rows)
    report = {"machine": f"{os.cpu_count()} CPUs, shared with other jobs while measured",
              "generation": generation(cfg, rows, args.repeats), "loss": loss_pass(cfg, demo_rows(4 * args.rows))}
    if args.evaluation:
        report["intervals"] = widths(args.evaluation)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
