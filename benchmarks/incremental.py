"""Incremental data work: ingest + clean + PII on old data plus 5% new rows, with the per-record cache
warmed on the old data (`schedule.record_cache: true`), vs a full run on the same inputs without it.

Issue 15's target: the incremental run costs at most 0.25 of the full run's ingest + clean + PII time.
Both runs read the same file, in the same process and project dir (so both find the converted base
model's tokenizer), one after the other; the outputs are checked to hold the same number of rows.

    .venv/bin/python benchmarks/incremental.py [--records 20000] [--new 0.05] [--out docs/benchmarks/incremental.json]
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
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("TUNEPIPE_PII_SALT", "benchmark-salt-0123456789abcdef")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def generate(path: Path, seed: int, n: int) -> list[str]:
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", str(seed), "--n", str(n),
                    "--out", str(path)], check=True, capture_output=True)
    return path.read_text().splitlines()


def config(root: Path, data: Path, record_cache: bool):
    from tunepipe.config import Config

    return Config.model_validate({"data": {"paths": [str(data)], "max_quarantine_rate": 0.5},
                                  "project": {"data_dir": str(root / ".tunepipe")},
                                  "schedule": {"record_cache": record_cache}})


def stages(cfg, out: Path) -> dict:
    """Seconds of ingest, clean and PII, and the rows each kept."""
    from tunepipe.data_quality.clean import clean_records
    from tunepipe.data_quality.ingest.stage import ingest
    from tunepipe.pii.stage import redact_pii

    d = {name: str(out / name) for name in ("records", "quarantine", "cleaned", "removed-clean", "redacted",
                                            "removed-pii")}
    seconds, rows = {}, {}
    for name, call in (("ingest", lambda: ingest(cfg, d["records"], d["quarantine"])),
                       ("clean", lambda: clean_records(cfg, d["records"], d["cleaned"], d["removed-clean"])),
                       ("pii", lambda: redact_pii(cfg, d["cleaned"], d["redacted"], d["removed-pii"]))):
        start = time.perf_counter()
        summary = call()
        seconds[name] = round(time.perf_counter() - start, 1)
        rows[name] = summary.get("valid_rows", summary.get("kept"))
    return {"seconds": seconds, "total_s": round(sum(seconds.values()), 1), "rows": rows}


def main() -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("tunepipe.scheduling.record_cache").setLevel(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--new", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "incremental.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old = generate(root / "old.jsonl", 5, args.records)
        new = generate(root / "new.jsonl", 11, max(1, int(args.records * args.new)))
        data = root / "data.jsonl"
        data.write_text("\n".join(old) + "\n")
        warm = stages(config(root / "incremental", data, True), root / "warm")
        data.write_text("\n".join(old + new) + "\n")
        incremental = stages(config(root / "incremental", data, True), root / "incremental-out")
        full = stages(config(root / "incremental", data, False), root / "full-out")
    if incremental["rows"] != full["rows"]:
        raise SystemExit(f"incremental rows {incremental['rows']} differ from the full run's {full['rows']}")
    result = {"machine": f"{os.cpu_count()} CPUs", "old_records": len(old), "new_records": len(new),
              "warm_run_on_old_data": warm, "incremental": incremental, "full": full,
              "ratio_incremental_to_full": round(incremental["total_s"] / full["total_s"], 3),
              "ratio_by_stage": {k: round(incremental["seconds"][k] / full["seconds"][k], 3) for k in full["seconds"]}}
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
