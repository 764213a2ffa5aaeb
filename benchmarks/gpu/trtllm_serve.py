"""trtllm-serve on a GPU: output tokens/s and p50/p95 latency at 1, 4 and 8 concurrent clients.

Run inside the TensorRT-LLM release image (nvcr.io/nvidia/tensorrt-llm/release:<version>) on a machine
with a GPU, on the model `tunepipe deploy` serves (the registered version's merged HF weights, e.g.
fetched with `python -m tunepipe.deploy.fetch --model-uri models:/NAME/VERSION --out /models/model`):

    python benchmarks/gpu/trtllm_serve.py --model-dir /models/model [--tp 1] [--max-batch-size 64]
    python benchmarks/gpu/trtllm_serve.py --url http://host:8000/v1     # a server that already runs

It sends the same requests as the CPU benchmark (benchmarks/serve.py), from benchmarks/gpu/requests.json,
through the official `openai` client, and writes JSON (--out) with one row per concurrency. It has not
been run: the machines this project is built on have neither a GPU with the TensorRT-LLM image nor a
cluster. Needs only the standard library, `openai` and `tenacity` besides trtllm-serve itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REQUESTS = Path(__file__).with_name("requests.json")


def start_server(args) -> tuple[subprocess.Popen, str]:
    command = ["trtllm-serve", args.model_dir, "--backend", "pytorch", "--host", "127.0.0.1", "--port", str(args.port),
               "--tp_size", str(args.tp), "--max_batch_size", str(args.max_batch_size),
               "--max_num_tokens", str(args.max_num_tokens),
               "--kv_cache_free_gpu_memory_fraction", str(args.kv_fraction)]
    if args.config:
        command += ["--config", args.config]
    print("starting:", " ".join(command), flush=True)
    return subprocess.Popen(command), f"http://127.0.0.1:{args.port}"


def wait_healthy(base: str, server: subprocess.Popen | None, timeout_s: float) -> None:
    from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

    @retry(stop=stop_after_delay(timeout_s), wait=wait_fixed(5), retry=retry_if_exception_type(OSError), reraise=True)
    def probe():
        if server is not None and server.poll() is not None:
            sys.exit(f"trtllm-serve exited with code {server.returncode} before it became healthy")
        with urllib.request.urlopen(f"{base}/health", timeout=5) as reply:
            if reply.status != 200:
                raise OSError(f"/health answered {reply.status}")

    probe()


def one_request(client, model: str, request: dict, spec: dict) -> tuple[float, int]:
    start = time.perf_counter()
    reply = client.chat.completions.create(model=model, messages=request["messages"], max_tokens=spec["max_tokens"],
                                           temperature=spec["temperature"])
    return time.perf_counter() - start, reply.usage.completion_tokens


def run_level(client, model: str, spec: dict, clients: int, rounds: int) -> dict:
    work = [r for _ in range(rounds) for r in spec["requests"]]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda r: one_request(client, model, r, spec), work))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    tokens = sum(n for _, n in results)
    return {"clients": clients, "requests": len(work), "output_tokens": tokens, "wall_s": round(wall, 3),
            "output_tokens_per_s": round(tokens / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(statistics.quantiles(latencies, n=20)[-1] * 1000, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", help="HF checkpoint to serve (omit with --url)")
    parser.add_argument("--url", help="benchmark a running OpenAI-compatible server (base URL ending in /v1)")
    parser.add_argument("--model", help="the request's model name (default: the server's first in /v1/models)")
    parser.add_argument("--tp", type=int, default=1)
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-num-tokens", type=int, default=8192)
    parser.add_argument("--kv-fraction", type=float, default=0.9)
    parser.add_argument("--config", help="trtllm-serve --config YAML (e.g. the trtllm.yaml tunepipe deploy writes)")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the request set per concurrency")
    parser.add_argument("--requests", default=str(REQUESTS))
    parser.add_argument("--start-timeout-s", type=float, default=1800)
    parser.add_argument("--out", default="trtllm_serve.json")
    args = parser.parse_args(argv)
    if not args.url and not args.model_dir:
        parser.error("pass --model-dir (start trtllm-serve) or --url (a running server)")

    import openai

    spec = json.loads(Path(args.requests).read_text())
    server, base = (None, args.url.removesuffix("/").removesuffix("/v1")) if args.url else start_server(args)
    try:
        wait_healthy(base, server, args.start_timeout_s)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=600)
        model = args.model or client.models.list().data[0].id
        one_request(client, model, spec["requests"][0], spec)
        rows = [run_level(client, model, spec, int(n), args.rounds) for n in args.clients.split(",")]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=120)
    result = {"server": "trtllm-serve" if server else args.url, "model": model, "tp": args.tp,
              "max_batch_size": args.max_batch_size, "max_tokens": spec["max_tokens"], "levels": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for row in rows:
        print(f"{row['clients']:>2} clients: {row['output_tokens_per_s']:>9.1f} tok/s  p50 {row['p50_ms']:.0f} ms  "
              f"p95 {row['p95_ms']:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
