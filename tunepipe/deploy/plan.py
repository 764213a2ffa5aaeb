"""Serving sizing: the tensor-parallel size, the largest batch and the latency of a model on a GPU kind.

A roofline estimate, as in the usual inference-sizing write-ups: one decode step reads every weight
and the batch's KV cache once from memory, or is bound by its FLOPs, whichever takes longer; the
prefill of one prompt is bound by FLOPs (2 x params x prompt tokens). Memory per GPU = weights / TP +
the framework's reserve, and the KV cache gets `kv_fraction` of what is left (trtllm-serve's
kv_cache_free_gpu_memory_fraction). A request's latency = time to first token + output tokens x time
per output token, at full batch (the p95 of a saturated server). It reuses the training catalogue
(tunepipe.training.sizing.catalogue) for model shapes and GPU figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunepipe.errors import TunepipeError
from tunepipe.training.sizing.catalogue import GIB, Arch, Gpu, get_gpu, resolve_model

DTYPE_BYTES = {"bf16": 2, "fp8": 1}
TP_SIZES = (1, 2, 4, 8)
RESERVE_BYTES = 4 * GIB
BANDWIDTH_EFFICIENCY = 0.8
PREFILL_MFU = 0.5
DECODE_MFU = 0.25
MAX_BATCH = 2048
TP_OVERHEAD = 0.1


@dataclass(frozen=True)
class Request:
    """What one request looks like, and what the server must answer within."""

    input_tokens: int
    output_tokens: int
    target_p95_ms: float | None = None
    dtype: str = "bf16"
    kv_fraction: float = 0.9


@dataclass(frozen=True)
class ServePlan:
    arch: Arch
    gpu: Gpu
    request: Request
    tp: int
    fits: bool
    meets_target: bool
    max_batch: int
    weights_gib: float
    kv_per_request_gib: float
    kv_cache_gib: float
    ttft_ms: float
    tpot_ms: float
    latency_ms: float
    tokens_per_s: float
    advice: str = ""

    def to_dict(self) -> dict:
        return {
            "model": self.arch.name, "gpu": self.gpu.name, "dtype": self.request.dtype, "fits": self.fits,
            "meets_target": self.meets_target, "tensor_parallel": self.tp, "gpus": self.tp,
            "max_batch_size": self.max_batch, "weights_per_gpu_gb": round(self.weights_gib, 2),
            "kv_cache_per_gpu_gb": round(self.kv_cache_gib, 2),
            "kv_per_request_per_gpu_gb": round(self.kv_per_request_gib, 4),
            "input_tokens": self.request.input_tokens, "output_tokens": self.request.output_tokens,
            "target_p95_ms": self.request.target_p95_ms, "ttft_ms": round(self.ttft_ms, 1),
            "tpot_ms": round(self.tpot_ms, 2), "request_latency_ms": round(self.latency_ms, 1),
            "output_tokens_per_s": round(self.tokens_per_s), "assumptions": assumptions(), "advice": self.advice,
        }


def assumptions() -> list[str]:
    return [
        f"weights and KV cache in the chosen dtype; {RESERVE_BYTES // GIB} GiB per GPU reserved for activations, "
        "CUDA graphs and the runtime",
        "KV cache = 2 x layers x KV heads per GPU x head dim x bytes per token, for input + output tokens",
        f"decode step = max(weights + KV read at {BANDWIDTH_EFFICIENCY:.0%} of peak bandwidth, "
        f"2 x params x batch at {DECODE_MFU:.0%} of dense peak FLOPs) / TP, + {TP_OVERHEAD:.0%} per TP doubling "
        "(the FLOPs share matches the published Llama-3.1-8B FP8 H100 trtllm-bench point within ~10%)",
        f"batch capped at {MAX_BATCH} (trtllm-serve's default max_batch_size)",
        f"time to first token = prefill of one prompt at {PREFILL_MFU:.0%} of dense peak FLOPs (no queueing)",
        "request latency = TTFT + output tokens x decode step at full batch (taken as the p95)",
        "datasheet figures (SXM, dense); real servers differ by tens of percent: measure with benchmarks/gpu/",
    ]


def _kv_heads_per_gpu(arch: Arch, tp: int) -> int:
    return math.ceil(arch.kv_heads / tp)


def kv_bytes_per_token(arch: Arch, tp: int, dtype: str) -> float:
    head_dim = arch.head_dim or arch.hidden // arch.heads
    return 2 * arch.layers * _kv_heads_per_gpu(arch, tp) * head_dim * DTYPE_BYTES[dtype]


def _flops(gpu: Gpu, dtype: str) -> float:
    return (gpu.fp8_tflops if dtype == "fp8" else gpu.bf16_tflops) * 1e12


def _tp_factor(tp: int) -> float:
    return 1 + TP_OVERHEAD * math.log2(tp)


def step_seconds(arch: Arch, gpu: Gpu, req: Request, tp: int, batch: int) -> float:
    """One decode step of `batch` sequences, each holding its average context in the KV cache."""
    weights = arch.total_params * DTYPE_BYTES[req.dtype] / tp
    context = req.input_tokens + req.output_tokens / 2
    kv = batch * context * kv_bytes_per_token(arch, tp, req.dtype)
    memory = (weights + kv) / (gpu.bandwidth_gbs * 1e9 * BANDWIDTH_EFFICIENCY)
    compute = 2 * arch.total_params * batch / tp / (_flops(gpu, req.dtype) * DECODE_MFU)
    return max(memory, compute) * _tp_factor(tp)


def ttft_seconds(arch: Arch, gpu: Gpu, req: Request, tp: int) -> float:
    compute = 2 * arch.total_params * req.input_tokens / tp / (_flops(gpu, req.dtype) * PREFILL_MFU)
    read = arch.total_params * DTYPE_BYTES[req.dtype] / tp / (gpu.bandwidth_gbs * 1e9 * BANDWIDTH_EFFICIENCY)
    return max(compute, read) * _tp_factor(tp)


def latency_seconds(arch: Arch, gpu: Gpu, req: Request, tp: int, batch: int) -> float:
    return ttft_seconds(arch, gpu, req, tp) + req.output_tokens * step_seconds(arch, gpu, req, tp, batch)


def _memory(arch: Arch, gpu: Gpu, req: Request, tp: int) -> tuple[float, float, float]:
    """(weights, KV cache budget, KV per request) in bytes on one GPU."""
    weights = arch.total_params * DTYPE_BYTES[req.dtype] / tp
    free = gpu.memory_mib * 2**20 - weights - RESERVE_BYTES
    per_request = (req.input_tokens + req.output_tokens) * kv_bytes_per_token(arch, tp, req.dtype)
    return weights, max(free, 0.0) * req.kv_fraction, per_request


def _largest_batch(arch: Arch, gpu: Gpu, req: Request, tp: int) -> int:
    """The most concurrent requests whose KV cache fits and (with a target) whose latency meets it."""
    _, budget, per_request = _memory(arch, gpu, req, tp)
    batch = min(int(budget // per_request), MAX_BATCH)
    if req.target_p95_ms is None:
        return batch
    target = req.target_p95_ms / 1000
    low, high = 0, batch
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if latency_seconds(arch, gpu, req, tp, mid) <= target else (low, mid - 1)
    return low


def _make(arch: Arch, gpu: Gpu, req: Request, tp: int, advice: str = "") -> ServePlan:
    weights, budget, per_request = _memory(arch, gpu, req, tp)
    batch = _largest_batch(arch, gpu, req, tp)
    fits = int(budget // per_request) >= 1
    shown = max(batch, 1)
    step = step_seconds(arch, gpu, req, tp, shown)
    return ServePlan(arch, gpu, req, tp, fits, fits and batch >= 1, batch, weights / GIB, per_request / GIB,
                     budget / GIB, ttft_seconds(arch, gpu, req, tp) * 1000, step * 1000,
                     latency_seconds(arch, gpu, req, tp, shown) * 1000, shown / step if batch else 0.0, advice)


def _tp_sizes(arch: Arch) -> list[int]:
    return [t for t in TP_SIZES if arch.heads % t == 0]


def plan_arch(arch: Arch, gpu: Gpu, req: Request, tp: int | None = None) -> ServePlan:
    """The smallest TP that holds the model with room for one request (and meets the target); or `tp` as given."""
    if req.dtype not in DTYPE_BYTES:
        raise TunepipeError(f"--dtype must be one of {', '.join(DTYPE_BYTES)}, got {req.dtype!r}")
    if not _flops(gpu, req.dtype):
        raise TunepipeError(f"{gpu.name} has no {req.dtype} tensor cores: use --dtype bf16 or an H100/H200/L40S")
    if req.input_tokens + req.output_tokens > arch.context:
        raise TunepipeError(f"--input-tokens + --output-tokens exceed {arch.name}'s context of {arch.context}")
    if tp is not None:
        if tp not in _tp_sizes(arch):
            raise TunepipeError(f"tensor parallel {tp} must be one of {_tp_sizes(arch)} for {arch.name}")
        return _make(arch, gpu, req, tp)
    plans = [_make(arch, gpu, req, t) for t in _tp_sizes(arch)]
    best = next((p for p in plans if p.meets_target), None) or next((p for p in plans if p.fits), None)
    if best:
        return best
    return _make(arch, gpu, req, plans[-1].tp, f"does not fit on {plans[-1].tp} x {gpu.name}: use fp8, fewer "
                                              "tokens per request, a larger GPU or pipeline parallelism")


def _advise(result: ServePlan) -> ServePlan:
    if result.fits and not result.meets_target:
        from dataclasses import replace

        return replace(result, advice=f"even one request takes {result.latency_ms:.0f} ms: raise --target-p95-ms, "
                                      "generate fewer tokens, use fp8 or a faster GPU")
    return result


def plan_serving(model: str, gpu: str = "h100-80gb", input_tokens: int = 1024, output_tokens: int = 256,
                 target_p95_ms: float | None = None, dtype: str = "bf16", tp: int | None = None,
                 kv_fraction: float = 0.9) -> ServePlan:
    """Plan serving `model` (a known name, a Hugging Face dir or a config YAML) on `gpu`."""
    if input_tokens < 1 or output_tokens < 1:
        raise TunepipeError("--input-tokens and --output-tokens must be at least 1")
    arch, _ = resolve_model(model)
    req = Request(input_tokens, output_tokens, target_p95_ms, dtype, kv_fraction)
    return _advise(plan_arch(arch, get_gpu(gpu), req, tp))


def print_serve_plan(console, result: ServePlan) -> None:
    from rich.table import Table

    req = result.request
    verdict = "[green]fits[/]" if result.fits else "[red]does not fit[/]"
    target = f", target p95 {req.target_p95_ms:g} ms" if req.target_p95_ms else ""
    console.print(f"serving {result.arch.name} in {req.dtype} on {result.gpu.name}, {req.input_tokens} in / "
                  f"{req.output_tokens} out tokens{target}: {verdict}")
    table = Table("quantity", "value", title=f"tensor parallel {result.tp} ({result.tp} GPU(s) per replica)")
    for name, value in [("weights per GPU", f"{result.weights_gib:.1f} GiB"),
                        ("KV cache per GPU", f"{result.kv_cache_gib:.1f} GiB"),
                        ("KV per request per GPU", f"{result.kv_per_request_gib * 1024:.0f} MiB"),
                        ("max batch size", str(result.max_batch)),
                        ("time to first token", f"{result.ttft_ms:.0f} ms"),
                        ("time per output token", f"{result.tpot_ms:.1f} ms"),
                        ("request latency at that batch", f"{result.latency_ms:.0f} ms"),
                        ("output tokens/s per replica", f"{result.tokens_per_s:,.0f}")]:
        table.add_row(name, value)
    console.print(table)
    console.print("assumptions:\n" + "\n".join(f"  - {a}" for a in assumptions()), highlight=False)
    if result.advice:
        console.print(result.advice, highlight=False)
