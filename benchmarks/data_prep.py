"""Data preparation on Spark: records/s per stage and the driver's peak memory, on synthetic data.

    .venv/bin/python benchmarks/data_prep.py --records 100000 --master 'local[2]' \
        --compare-masters --pandas-baseline --scale --out docs/benchmarks/data_prep.json

Writes N synthetic JSON Lines records (four shapes, a ~5,900-word Zipf vocabulary plus per-record
ids, ~3% exact and ~3% near duplicates, some HTML, ~0.5% malformed lines), then runs ingest,
clean_records, deduplicate, the content digest and split_dataset, each timed on its own. Every
configuration runs in a fresh subprocess, so session start-up and peak memory belong to it alone;
each first runs every stage on --warmup lines (the cold start, reported as warmup_s), so the timed
run measures throughput. Memory is sampled every 0.1 s with psutil: the Python driver, the Spark
JVM (in local mode a child of the Python driver) and the Python workers the JVM starts.

  --compare-masters   local[1] as well: speed-up of local[2] (or --master) on each stage, and how many
                      cores each kept busy (CPU seconds of driver, JVM and workers / wall seconds)
  --pandas-baseline   the same normalisation, token counts, quality verdicts and exact dedup in one
                      pandas process, against clean_records + exact-only deduplicate on the same
                      ingested records
  --scale             10 x N as well: the ratio of driver peak memory (flat = nothing collected)
  --no-near           exact dedup only (no MinHash), as the pandas baseline does

Inputs, stage outputs and the converted tokenizer live under --work-dir (default /tmp), not in
the project. Stages this checkout lacks are skipped and listed under "missing_stages".
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

DEFAULT_WORK_DIR = Path("/tmp/tunepipe-bench")
CPU_HEAVY = ("clean", "dedup")
STAGES = ("ingest", "clean", "dedup", "digest", "split")
EXACT_DUP, NEAR_DUP, MALFORMED, HTML = 0.03, 0.03, 0.005, 0.05
RECENT = 5000
SHOWN = ("speedup", "peak_mib_ratio", "cores_busy")


# ---------------------------------------------------------------- synthetic data

def vocabulary() -> list[str]:
    """~5,900 distinct words, most frequent first: common English words (in a fixed shuffled order),
    business words, inflections of the common words, then names, colours and places."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.color.en_US import Provider as Color
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.lorem.en_US import Provider as Lorem
    from faker.providers.person.en_US import Provider as Person

    shuffle = np.random.default_rng(0).permutation
    common = [str(w) for w in shuffle(list(Lorem.word_list))]
    business = [w for group in (*Company.catch_phrase_words, *Company.bsWords) for w in group]
    inflected = [w + suffix for suffix in ("s", "ed", "ing") for w in common if len(w) > 3]
    names = list(Person.first_names) + list(Person.last_names) + list(Color.all_colors)
    places = list(Address.states) + list(Address.street_suffixes)
    words = [w for w in common + business + inflected + names + places if " " not in w]
    return list(dict.fromkeys(words))


class TextMaker:
    """Sentences of Zipf-distributed words (rank r drawn with weight 1 / (r + 2.7)), drawn in bulk."""

    ENDINGS = (".", ".", ".", "?", "!")

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary())
        weights = 1.0 / (np.arange(1, len(self.words) + 1) + 2.7)
        self.cdf = np.cumsum(weights / weights.sum())

    def draw(self, count: int) -> np.ndarray:
        return self.words[np.minimum(np.searchsorted(self.cdf, self.rng.random(count)), len(self.words) - 1)]

    def sentences(self, count: int, lo: int = 6, hi: int = 18) -> str:
        lengths = self.rng.integers(lo, hi, size=count)
        words, ends = self.draw(int(lengths.sum())).tolist(), self.rng.integers(0, 5, size=count)
        out, start = [], 0
        for n, end in zip(lengths, ends):
            out.append(" ".join(words[start:start + n]).capitalize() + self.ENDINGS[end])
            start += n
        return " ".join(out)


def record(maker: TextMaker, i: int) -> dict:
    rng = maker.rng
    ticket = f"Ticket T-{i:07d}, order {rng.integers(10**6, 10**7)}."
    question = f"{maker.sentences(int(rng.integers(1, 4)))} {ticket}"
    answer = maker.sentences(int(rng.integers(2, 7)), 8, 22)
    if rng.random() < HTML:
        answer = f"<div><p>{answer}</p><br><p>Regards,&nbsp;{maker.sentences(1, 2, 4)}</p></div>"
    shape = rng.choice(["pc", "nemo", "chat", "rag"], p=[0.4, 0.2, 0.2, 0.2])
    if shape == "nemo":
        return {"input": question, "output": answer}
    if shape == "chat":
        return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
    if shape == "rag":
        passages = [maker.sentences(int(rng.integers(3, 6)), 8, 20) for _ in range(2)]
        return {"question": question, "contexts": passages, "answer": answer}
    return {"prompt": question, "completion": answer}


def near_copy(item: dict, maker: TextMaker) -> dict:
    """The same record with one answer word swapped, or with a double space and a closing word."""
    copy = json.loads(json.dumps(item))
    holder, key = (copy["messages"][-1], "content") if "messages" in copy else (
        copy, next(k for k in ("completion", "output", "answer") if k in copy))
    words = holder[key].split(" ")
    if maker.rng.random() < 0.5:
        words[int(maker.rng.integers(len(words)))] = str(maker.draw(1)[0])
        holder[key] = " ".join(words)
    else:
        holder[key] = holder[key].replace(". ", ".  ", 1) + " Thanks"
    return copy


def malformed(maker: TextMaker, i: int) -> str:
    kind = i % 3
    if kind == 0:
        return json.dumps(record(maker, i))[:-7]
    if kind == 1:
        return json.dumps({"prompt": maker.sentences(1)})
    return json.dumps({"prompt": 42, "completion": maker.sentences(1)})


def generate(n: int, seed: int, path: Path) -> dict:
    """Write n lines to `path` (reused when it and its summary exist) and return the summary."""
    summary_path = path.with_suffix(".summary.json")
    if path.is_file() and summary_path.is_file():
        return json.loads(summary_path.read_text())
    maker, recent = TextMaker(seed), []
    counts = {"lines": n, "exact_duplicates": 0, "near_duplicates": 0, "malformed": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            kind, line = next_line(maker, i, recent)
            if kind:
                counts[kind] += 1
            f.write(line + "\n")
    counts["vocabulary"] = len(maker.words)
    summary_path.write_text(json.dumps(counts))
    return counts


def next_line(maker: TextMaker, i: int, recent: list) -> tuple[str | None, str]:
    """(kind, line): an exact or near copy of a recent record, a malformed line, or a new record."""
    draw = maker.rng.random()
    if recent and draw < EXACT_DUP:
        return "exact_duplicates", recent[int(maker.rng.integers(len(recent)))]
    if recent and draw < EXACT_DUP + NEAR_DUP:
        source = json.loads(recent[int(maker.rng.integers(len(recent)))])
        return "near_duplicates", json.dumps(near_copy(source, maker))
    if draw < EXACT_DUP + NEAR_DUP + MALFORMED:
        return "malformed", malformed(maker, i)
    line = json.dumps(record(maker, i))
    if len(recent) < RECENT:
        recent.append(line)
    else:
        recent[int(maker.rng.integers(RECENT))] = line
    return None, line


# ---------------------------------------------------------------- memory sampling

class PeakMemory:
    """Peak RSS (MiB) of this process, its Spark JVM and the JVM's Python workers, per phase; and the CPU
    seconds the whole process tree spent in each phase (the highest CPU time seen per process, summed:
    short-lived workers lose at most one sampling interval)."""

    def __init__(self, interval_s: float = 0.1):
        self.interval_s = interval_s
        self.me = psutil.Process()
        self.phases: dict[str, dict] = {}
        self.phase = "start"
        self.cpu_seen: dict[int, float] = {}
        self.cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _cpu(self, process: psutil.Process) -> None:
        times = process.cpu_times()
        self.cpu_seen[process.pid] = max(self.cpu_seen.get(process.pid, 0.0), times.user + times.system)

    def _sample(self) -> dict:
        python = self.me.memory_info().rss
        self._cpu(self.me)
        jvm = workers = 0
        for child in self.me.children(recursive=True):
            try:
                self._cpu(child)
                if child.name() == "java":
                    jvm += child.memory_info().rss
                elif child.name().startswith("python"):
                    workers += child.memory_info().rss
            except psutil.Error:
                continue
        mib = 1 << 20
        return {"python_driver": python / mib, "jvm": jvm / mib, "driver_total": (python + jvm) / mib,
                "python_workers": workers / mib}

    def _run(self) -> None:
        while not self._stop.is_set():
            phase, before = self.phase, sum(self.cpu_seen.values())
            sample = self._sample()
            self.cpu[phase] = self.cpu.get(phase, 0.0) + sum(self.cpu_seen.values()) - before
            peaks = self.phases.setdefault(phase, {k: 0.0 for k in sample})
            for key, value in sample.items():
                peaks[key] = max(peaks[key], value)
            self._stop.wait(self.interval_s)

    def overall(self) -> dict:
        keys = ("python_driver", "jvm", "driver_total", "python_workers")
        return {k: round(max((p[k] for p in self.phases.values()), default=0.0), 1) for k in keys}


# ---------------------------------------------------------------- one configuration, in a subprocess

def stage_function(module: str, name: str):
    try:
        return getattr(importlib.import_module(f"tunepipe.data_quality.{module}"), name)
    except (ImportError, AttributeError):
        return None


def make_config(spec: dict):
    from tunepipe.config import Config

    return Config.model_validate({
        "data": {"paths": [spec["input"]]},
        "project": {"data_dir": str(spec["project_dir"])},
        "spark": {"master": spec["master"], "driver_memory": spec["driver_memory"]},
        "model": {"base": spec["model_base"]},
        "dedup": {"near": spec["near"]} if spec["near"] else {"near": False, "group_threshold": None},
    })


def run_configuration(spec: dict) -> dict:
    """Run the stages of `spec` once and time each; called in a fresh process."""
    root = Path(spec["root"])
    cfg = make_config(spec)
    result = {"master": spec["master"], "stages": {}, "missing_stages": []}
    with PeakMemory() as memory:
        memory.phase = "tokenizer"
        result["tokenizer_prep_s"] = round(timed(lambda: warm_tokenizer(cfg))[1], 2)
        memory.phase = "session"
        from tunepipe.data_quality.spark import get_spark

        result["session_start_s"] = round(timed(lambda: get_spark(cfg))[1], 2)
        memory.phase = "warmup"
        result["warmup_s"] = warm_up(spec, root / "warmup")
        rows_out = None
        for name, call in stage_calls(spec, cfg, root, result["missing_stages"]):
            memory.phase = name
            summary, seconds = timed(call)
            rows_in = summary.get("input_rows", rows_out) if isinstance(summary, dict) else rows_out
            result["stages"][name] = {"seconds": round(seconds, 2), "input_rows": rows_in,
                                      "records_per_s": round(rows_in / seconds, 1) if rows_in else None,
                                      "summary": compact(summary)}
            rows_out = output_rows(summary, rows_in)
    for name, peaks in memory.phases.items():
        if name in result["stages"]:
            stage = result["stages"][name]
            stage["peak_mib"] = {k: round(v, 1) for k, v in peaks.items()}
            stage["cpu_s"] = round(memory.cpu.get(name, 0.0), 1)
            stage["cores_busy"] = round(stage["cpu_s"] / stage["seconds"], 2)
    result["peak_mib"] = memory.overall()
    return result


def warm_up(spec: dict, root: Path) -> dict:
    """Run every stage once on the first `warmup` input lines and return their times.

    A stage's first run in a session costs tens of seconds of class loading, code generation and
    JIT compilation whatever the data size; after a warm-up the timed run measures throughput.
    """
    if not spec["warmup"]:
        return {}
    root.mkdir(parents=True, exist_ok=True)
    head = root / "input.jsonl"
    with open(spec["input"], encoding="utf-8") as src, head.open("w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(spec["warmup"]), src))
    small = {**spec, "input": str(head), "records_dir": None, "stages": list(STAGES)}
    cfg = make_config(small)
    return {name: round(timed(call)[1], 2) for name, call in stage_calls(small, cfg, root, [])}


def output_rows(summary, rows_in):
    if not isinstance(summary, dict):
        return rows_in
    return summary.get("kept", summary.get("valid_rows", rows_in))


def warm_tokenizer(cfg) -> None:
    """Convert the model's tokenizer once (SmolLM2 ships as GGUF: ~1.5 GB RSS while converting), before any
    measured process, so no driver peak carries it."""
    clean = importlib.import_module("tunepipe.data_quality.clean")
    if hasattr(clean, "tokenizer_dir"):
        clean.tokenizer_dir(cfg)


def stage_calls(spec: dict, cfg, root: Path, missing: list):
    """(name, thunk) for each stage to run; a thunk returns the stage summary."""
    from tunepipe.data_quality.common import read_dataset
    from tunepipe.data_quality.ingest import ingest
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.data_quality.split import split_dataset
    from tunepipe.digest import spark_digest

    current = Path(spec.get("records_dir") or root / "records")
    if "ingest" in spec["stages"]:
        yield "ingest", lambda: ingest(cfg, str(current), str(root / "quarantine"))
    for name, module, function in (("clean", "clean", "clean_records"), ("dedup", "dedup", "deduplicate")):
        call = stage_function(module, function)
        if name not in spec["stages"]:
            continue
        if call is None:
            missing.append(f"{name}: tunepipe.data_quality.{module}.{function} not found")
            continue
        src, current = current, root / name
        yield name, lambda call=call, src=src, dst=current: call(cfg, str(src), str(dst), str(dst) + "_removed")
    if "split" in spec["stages"]:
        digest = {}
        yield "digest", lambda: digest.setdefault("value", spark_digest(read_dataset(get_spark(cfg), current)))
        splits = [str(root / s) for s in ("train", "validation", "test")]
        yield "split", lambda: split_dataset(cfg, str(current), *splits, digest["value"])


def timed(thunk):
    start = time.perf_counter()
    value = thunk()
    return value, time.perf_counter() - start


def compact(summary) -> dict:
    """The counts of a stage summary, without per-source detail or examples."""
    if not isinstance(summary, dict):
        return {"value": str(summary)[:16]}
    drop = ("per_source", "largest_clusters", "digest")
    return {k: v for k, v in summary.items() if k not in drop and not isinstance(v, list)}


def pandas_baseline(spec: dict) -> dict:
    """The single-process pandas version of clean_records + exact dedup, on the ingested records."""
    import pandas as pd

    from tunepipe.data_quality import filters
    from tunepipe.data_quality.clean import boilerplate_patterns, tokenizer_dir

    cfg = make_config(spec)
    tokenizer, patterns = tokenizer_dir(cfg), boilerplate_patterns(cfg.clean)
    filters.token_counter(tokenizer)
    out = Path(spec["root"]) / "pandas_clean_dedup"
    out.mkdir(parents=True, exist_ok=True)
    with PeakMemory() as memory:
        memory.phase = "pandas"
        start = time.perf_counter()
        df = pd.read_parquet(spec["records_dir"])
        kept = exact_dedup(pandas_clean(df, cfg, tokenizer, patterns))
        kept.to_parquet(out / "part-0.parquet", index=False)
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "input_rows": len(df), "kept": len(kept),
            "records_per_s": round(len(df) / seconds, 1), "peak_mib": memory.overall()}


def pandas_clean(df, cfg, tokenizer: str, patterns: list):
    """Normalised texts, token counts and the rows no quality filter rejects (filters.* per text)."""
    from tunepipe.data_quality import filters

    normalise = lambda t: filters.normalise_text(t, cfg.clean.strip_html, patterns)  # noqa: E731
    for col in filters.TEXT_FIELDS:
        df[col] = df[col].map(normalise, na_action="ignore")
    df["context"] = df["context"].where(df["context"] != "", None)
    count = lambda col: filters.token_counts(tokenizer, df[col].tolist())  # noqa: E731
    df["prompt_tokens"] = [p + c for p, c in zip(count("prompt"), count("context"))]
    df["response_tokens"] = count("response")
    columns = [*filters.TEXT_FIELDS, "prompt_tokens", "response_tokens"]
    reasons = [filters.verdict(row, cfg.clean)[0] for row in df[columns].to_dict("records")]
    return df[[reason is None for reason in reasons]]


def exact_dedup(df):
    """One row per (prompt, context, response) lowercased with whitespace folded: the smallest record_id."""
    import pandas as pd

    df = df.sort_values("record_id")
    folded = {c: df[c].str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
              for c in ("prompt", "context", "response")}
    return df[~pd.DataFrame(folded).fillna("\u2400").duplicated(keep="first")]


# ---------------------------------------------------------------- orchestration

def in_subprocess(kind: str, spec: dict) -> dict:
    """Run one configuration in a fresh Python process; its log goes to ROOT/run.log."""
    root = Path(spec["root"])
    root.mkdir(parents=True, exist_ok=True)
    result_file = root / "result.json"
    result_file.unlink(missing_ok=True)
    with (root / "run.log").open("w") as log:
        code = subprocess.run([sys.executable, __file__, "--run", kind, json.dumps(spec)],
                              stdout=log, stderr=subprocess.STDOUT).returncode
    if code != 0 or not result_file.is_file():
        tail = "\n".join((root / "run.log").read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"the {kind} run in {root} failed (exit {code}):\n{tail}")
    return json.loads(result_file.read_text())


def input_path(args, n: int) -> Path:
    return Path(args.work_dir) / "input" / f"records-{n}-seed{args.seed}.jsonl"


def base_spec(args, n: int, master: str) -> dict:
    work = Path(args.work_dir)
    run_name = f"{n}-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", master).strip("-")
    return {"input": str(input_path(args, n)), "root": str(work / "runs" / run_name),
            "project_dir": str(work / "project"), "master": master, "driver_memory": args.driver_memory,
            "model_base": args.model_base, "near": not args.no_near, "stages": list(STAGES), "warmup": args.warmup}


def pipeline_run(args, n: int, master: str) -> dict:
    generated = generate(n, args.seed, input_path(args, n))
    print(f"running all stages on {n} records with {master} ...", file=sys.stderr, flush=True)
    return {"records": n, "input": generated, **in_subprocess("stages", base_spec(args, n, master))}


def compare_masters(args, main: dict) -> dict:
    other = pipeline_run(args, args.records, "local[1]")
    speedup = {name: round(other["stages"][name]["seconds"] / main["stages"][name]["seconds"], 2)
               for name in main["stages"] if name in other["stages"]}
    busy = {run["master"]: {name: stage.get("cores_busy") for name, stage in run["stages"].items()}
            for run in (other, main)}
    return {"baseline": "local[1]", "against": args.master, "speedup": speedup,
            "cpu_heavy": {k: speedup[k] for k in CPU_HEAVY if k in speedup}, "cores_busy": busy,
            "local[1]": other}


def baseline_comparison(args) -> dict:
    spec = base_spec(args, args.records, args.master)
    spec["records_dir"] = str(Path(spec["root"]) / "records")
    exact = {**spec, "root": spec["root"] + "-exact", "near": False, "stages": ["clean", "dedup"]}
    print("running clean + exact dedup, tunepipe and pandas ...", file=sys.stderr, flush=True)
    tunepipe_run = in_subprocess("stages", exact)
    pandas_run = in_subprocess("pandas", {**spec, "root": spec["root"] + "-pandas"})
    spark_s = sum(s["seconds"] for s in tunepipe_run["stages"].values())
    return {"tunepipe_clean_exact_dedup": tunepipe_run, "pandas": pandas_run,
            "same_record_ids": record_ids(Path(exact["root"]) / "dedup")
            == record_ids(Path(spec["root"] + "-pandas") / "pandas_clean_dedup"),
            "tunepipe_seconds": round(spark_s, 2),
            "pandas_over_tunepipe_time": round(pandas_run["seconds"] / spark_s, 2),
            "note": "same input (ingested records), the same per-text functions (filters.*) and the same "
                    "exact-duplicate key (lowercased, whitespace folded); pandas holds all rows in one process"}


def record_ids(dataset_dir: Path) -> list[str]:
    import pyarrow.parquet as pq

    return sorted(pq.read_table(dataset_dir, columns=["record_id"]).column("record_id").to_pylist())


def scale_comparison(args, main: dict) -> dict:
    big = pipeline_run(args, 10 * args.records, args.master)
    ratio = lambda key: round(big["peak_mib"][key] / main["peak_mib"][key], 2)  # noqa: E731
    return {"records": [args.records, 10 * args.records], "peak_mib_ratio": {k: ratio(k) for k in main["peak_mib"]
                                                                            if main["peak_mib"][k]},
            "total_seconds_ratio": round(total_seconds(big) / total_seconds(main), 2), "run": big}


def total_seconds(run: dict) -> float:
    return sum(s["seconds"] for s in run["stages"].values())


def environment() -> dict:
    import pyspark

    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
            "python": platform.python_version(), "pyspark": pyspark.__version__,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def report(result: dict) -> str:
    lines = [f"{'stage':8} {'seconds':>8} {'records/s':>10} {'driver MiB':>11} {'workers MiB':>12}"]
    for name, stage in result["main"]["stages"].items():
        peak = stage.get("peak_mib", {})
        lines.append(f"{name:8} {stage['seconds']:8.2f} {stage['records_per_s'] or 0:10.0f} "
                     f"{peak.get('driver_total', 0):11.0f} {peak.get('python_workers', 0):12.0f}")
    main = result["main"]
    lines.append(f"session start {main['session_start_s']:.1f} s; warm-up {json.dumps(main['warmup_s'])}; "
                 f"driver peak {main['peak_mib']['driver_total']:.0f} MiB")
    for key in ("compare_masters", "pandas_baseline", "scale"):
        if key in result:
            shown = {k: v for k, v in result[key].items() if not isinstance(v, dict) or k in SHOWN}
            lines.append(f"{key}: {json.dumps(shown)}")
    if main["missing_stages"]:
        lines.append("missing stages: " + "; ".join(main["missing_stages"]))
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--model-base", default="smollm2-135m-instruct",
                        help="model whose tokenizer the clean stage counts with (default: the real SmolLM2)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--warmup", type=int, default=1000,
                        help="run every stage first on this many lines, untimed (0: time cold stages)")
    parser.add_argument("--compare-masters", action="store_true")
    parser.add_argument("--pandas-baseline", action="store_true")
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--no-near", action="store_true", help="exact dedup only (no MinHashLSH) in every run")
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR))
    parser.add_argument("--out", default="docs/benchmarks/data_prep.json")
    parser.add_argument("--run", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parse_args(argv)
    if args.run:
        kind, spec = args.run[0], json.loads(args.run[1])
        result = run_configuration(spec) if kind == "stages" else pandas_baseline(spec)
        (Path(spec["root"]) / "result.json").write_text(json.dumps(result))
        return
    started = time.perf_counter()
    warm_tokenizer(make_config(base_spec(args, args.records, args.master)))
    result = {"environment": environment(), "args": {k: v for k, v in vars(args).items() if k != "run"}}
    result["main"] = pipeline_run(args, args.records, args.master)
    if args.compare_masters:
        result["compare_masters"] = compare_masters(args, result["main"])
    if args.pandas_baseline:
        result["pandas_baseline"] = baseline_comparison(args)
    if args.scale:
        result["scale"] = scale_comparison(args, result["main"])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(report(result))
    print(f"written {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
