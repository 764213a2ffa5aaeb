"""PII throughput and quality: tunepipe's Spark PII stage vs the loop a user would write with Presidio.

    .venv/bin/python benchmarks/pii.py --records 10000 [--baseline-records 2000] [--no-quality] [--long-text]
        [--split dev --split dev2 --split dev3 | --split test]

Throughput (records/s, each record a prompt of two ticket texts and a response of one, all with PII):
- baseline: one process, `AnalyzerEngine.analyze()` then `AnonymizerEngine.anonymize()` per text, plain
  Presidio (its default recognizers) on the same spaCy model, the way the Presidio docs show it; timed
  on the first `--baseline-records` of the same records (all of them by default);
- tunepipe: `tunepipe.pii.stage.redact_pii` on Spark local[2] (screens off, so both sides do the same
  work), timed with the Spark session already up; the session start is reported apart.
Quality: per-entity redaction recall and character precision of plain Presidio and of tunepipe on the
labelled files `--split` names, scored by `tunepipe.pii.evalset`: by default the development files `dev`
(tests/pii/devset.py), `dev2` (tests/pii/testsplit.py, test split v1 until it was scored, 0.799) and
`dev3` (tests/pii/data/pii_test2.jsonl, test split 2 until it was scored, 0.834); `test`, the frozen
test split 3 (tests/pii/data/pii_test3.json, presidio-evaluator's generator, Presidio's JSON format),
only when asked for, once at the end of a tuning round. `--long-text` times one 1 MB text.
Results go to docs/benchmarks/pii_<records>.json (pii_eval.json for the dev quality table, pii_test.json
for the test split's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
SPLITS = {"dev", "dev2", "dev3", "test"}
COLUMNS = ("record_id", "source", "source_line", "shape", "prompt", "context", "response")


def make_records(n: int, seed: int = 11) -> list[dict]:
    """`n` records whose prompt and response are support-ticket texts with PII (pii_eval templates)."""
    from tests.pii import devset

    texts = [r["text"] for r in devset.generate({"dev": min(n, 5000) * 3}, seed=seed)]
    rows = []
    for i in range(n):
        a, b, c = (texts[(3 * i + k) % len(texts)] for k in range(3))
        rows.append({"record_id": f"{i:016x}", "source": "bench.jsonl", "source_line": i + 1,
                     "shape": "prompt_completion", "prompt": f"{a} {b}", "context": None, "response": c})
    return rows


def write_parquet(rows: list[dict], directory: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), directory / "part-00000.parquet")
    return directory


def bench_config(root: Path):
    from tunepipe.config import Config

    return Config.model_validate({
        "data": {"paths": ["(unused)"]}, "project": {"data_dir": str(root / "project")},
        "spark": {"master": "local[2]"},
        "rai": {k: {"enabled": False} for k in ("secrets", "toxicity", "blocked_terms")},
    })


def plain_presidio_analyzer(settings):
    """AnalyzerEngine with Presidio's default recognizers on the same spaCy model, as a user builds it."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from tunepipe.pii.detect import LANGUAGE, offline_tldextract

    offline_tldextract()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": LANGUAGE, "model_name": settings.spacy_model}],
    }).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=[LANGUAGE])


def timed(rows: list[dict], work) -> dict:
    """Wall and CPU time of `work(rows)` in this process (CPU time is what a loaded machine distorts least)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(rows)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"records": len(rows), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "records_per_s": round(len(rows) / wall, 1), "cpu_ms_per_record": round(1000 * cpu / len(rows), 1)}


def run_baseline(rows: list[dict], settings) -> dict:
    """analyze() and anonymize() per text, as the Presidio docs show it (engine load included)."""
    from presidio_anonymizer import AnonymizerEngine

    def work(rows):
        analyzer, anonymizer = plain_presidio_analyzer(settings), AnonymizerEngine()
        for row in rows:
            for col in ("prompt", "context", "response"):
                if isinstance(row[col], str) and row[col]:
                    found = analyzer.analyze(row[col], language="en", entities=settings.analysed_entities,
                                             score_threshold=settings.score_threshold)
                    anonymizer.anonymize(row[col], found)

    return timed(rows, work)


def run_in_process(rows: list[dict], settings) -> dict:
    """tunepipe's detection (`find_spans`, batched) and placeholders in one process, without Spark."""
    from tunepipe.pii.detect import engines, find_spans

    def work(rows):
        _, anonymizer = engines(settings)
        for col in ("prompt", "context", "response"):
            texts = [row[col] for row in rows]
            for text, spans in zip(texts, find_spans(texts, settings)):
                if spans:
                    anonymizer.anonymize(text, spans)

    return timed(rows, work)


def run_tunepipe(rows: list[dict], root: Path) -> dict:
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.pii.stage import redact_pii

    cfg = bench_config(root)
    records = write_parquet(rows, root / "records")
    start = time.perf_counter()
    get_spark(cfg, "tunepipe-pii")
    up = time.perf_counter()
    summary = redact_pii(cfg, records, root / "redacted", root / "removed")
    done = time.perf_counter()
    return {"records": len(rows), "session_start_s": round(up - start, 1), "stage_s": round(done - up, 1),
            "records_per_s": round(len(rows) / (done - up), 1), "rows_kept": summary.get("kept", summary.get("rows"))}


def quality(path: Path, fmt: str = "tunepipe") -> dict:
    """Both detectors scored on one labelled file: the whole file, and each split it names."""
    from tunepipe.pii import evalset

    records = evalset.load(path, fmt)
    ours = evalset.evaluate(records, evalset.predict(records))
    base = evalset.evaluate(records, evalset.predict(records, baseline=True))
    strip = lambda r: {k: v for k, v in r.items() if k != "missed"}  # noqa: E731
    return {split: {"tunepipe": strip(ours[split]), "plain_presidio": strip(base[split])} for split in ours}


def long_text_seconds(chars: int = 1_000_000) -> float:
    from tests.pii.devset import DEV_SET
    from tunepipe.pii import evalset
    from tunepipe.pii.detect import PiiSettings, engines, find_spans

    settings = PiiSettings.default()
    engines(settings)
    text = "\n".join(r["text"] for r in evalset.load(DEV_SET))
    text = (text * (chars // len(text) + 1))[:chars]
    start = time.perf_counter()
    find_spans([text], settings)
    return round(time.perf_counter() - start, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--baseline-records", type=int, default=None, help="records the baseline is timed on (default: all)")
    parser.add_argument("--no-quality", action="store_true", help="skip the recall/precision table")
    parser.add_argument("--split", action="append", choices=sorted(SPLITS), default=None,
                        help="labelled file to score (repeatable; default dev, dev2 and dev3; test once per tuning round)")
    parser.add_argument("--no-spark", action="store_true", help="only the in-process comparison")
    parser.add_argument("--long-text", action="store_true", help="also time one 1 MB text")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from tunepipe.pii.detect import PiiSettings

    rows = make_records(args.records)
    result = {"records": args.records, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "load_average": os.getloadavg()[0]}
    if not args.no_spark:
        with tempfile.TemporaryDirectory() as tmp:
            result["tunepipe"] = run_tunepipe(rows, Path(tmp))
    sample = rows[:args.baseline_records or args.records]
    result["baseline"] = run_baseline(sample, PiiSettings.default())
    result["tunepipe_in_process"] = run_in_process(sample, PiiSettings.default())
    if "tunepipe" in result:
        result["ratio"] = round(result["tunepipe"]["records_per_s"] / result["baseline"]["records_per_s"], 2)
    result["cpu_ratio_in_process"] = round(
        result["baseline"]["cpu_ms_per_record"] / result["tunepipe_in_process"]["cpu_ms_per_record"], 2)
    result["load_average_after"] = os.getloadavg()[0]
    if args.long_text:
        result["one_mb_text_s"] = long_text_seconds()
    print(json.dumps(result, indent=2))
    out = args.out or REPO / "docs" / "benchmarks" / f"pii_{args.records}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_quality:
        write_quality(args.split or ["dev", "dev2", "dev3"])
    return 0


def split_path(name: str) -> tuple[Path, str]:
    """(file, format) of a named labelled file."""
    from tests.pii import devset, testsplit, testsplit3

    path, fmt = {"dev": (devset.DEV_SET, "tunepipe"), "dev2": (testsplit.DEV2, "tunepipe"),
                 "dev3": (testsplit.TEST_SPLIT, "tunepipe"), "test": (testsplit3.OUT, "presidio")}[name]
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: the {name} split must be written before it is scored")
    return path, fmt


def write_quality(names: list[str]) -> None:
    """Score the named labelled files; dev files go to pii_eval.json, the test split to pii_test.json."""
    from tunepipe.pii import evalset

    table = {name: quality(*split_path(name)) for name in dict.fromkeys(names)}
    for out, keys in (("pii_eval.json", ("dev", "dev2", "dev3")), ("pii_test.json", ("test",))):
        part = {k: v for k, v in table.items() if k in keys}
        if part:
            (REPO / "docs" / "benchmarks" / out).write_text(json.dumps(part, indent=2) + "\n")
    for name, splits in table.items():
        for split, both in splits.items():
            print(f"\n[{name}: {split}] {both['tunepipe']['records']} records")
            print(evalset.table(both["tunepipe"], both["plain_presidio"]))


if __name__ == "__main__":
    sys.exit(main())
