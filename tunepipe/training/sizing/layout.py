"""The layout search: the fewest GPUs, then pipeline stages, then TP, whose fullest GPU stays under 90%.

`plan()` answers "how many GPUs of this kind, with which tensor / pipeline / data parallel sizes and
micro-batch" for LoRA, QLoRA, P-tuning or full SFT of a decoder-only (Llama-style) transformer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Iterable, Iterator

from tunepipe.errors import TunepipeError
from tunepipe.training.sizing.catalogue import GIB, Arch, Gpu, get_gpu, resolve_model
from tunepipe.training.sizing.memory import Job, Layout, Memory, estimate, make_job, trainable_params

NODE_GPUS = 8
DEFAULT_MAX_GPUS = 64
SEARCH_LIMIT_GPUS = 1024
TP_SIZES = (1, 2, 4, 8)
MICRO_BATCHES = (8, 4, 2, 1)


@dataclass(frozen=True)
class Plan:
    """The answer: the layout chosen (or the least-loaded one tried) and its memory on the fullest GPU."""

    arch: Arch
    job: Job
    gpu: Gpu
    fits: bool
    layout: Layout
    memory: Memory
    needs: Layout | None = None
    advice: str = ""

    def to_dict(self) -> dict:
        return {
            "fits": self.fits, "gpus": self.layout.gpus, "tensor_parallel": self.layout.tp,
            "pipeline_parallel": self.layout.pp, "data_parallel": self.layout.dp,
            "micro_batch": self.layout.micro_batch, "memory_per_gpu_gb": round(self.memory.total / GIB, 1),
            "usable_per_gpu_gb": round(self.gpu.usable / GIB, 1), "memory_breakdown_gb": self.memory.gib(),
            "model": self.arch.name, "method": self.job.method, "seq_len": self.job.seq_len, "gpu": self.gpu.name,
            "total_params": self.arch.total_params, "trainable_params": trainable_params(self.arch, self.job),
            "recompute": self.job.recompute, "distributed_optimizer": self.job.distributed_optimizer,
            "needs": asdict(self.needs) | {"gpus": self.needs.gpus} if self.needs else None,
            "advice": self.advice,
        }


def _tp_sizes(arch: Arch, job: Job) -> tuple[int, ...]:
    if job.method == "qlora":
        return (1,)
    return tuple(t for t in TP_SIZES if t <= NODE_GPUS and arch.heads % t == 0 and arch.kv_heads % t == 0)


def _pp_sizes(arch: Arch, pipeline: bool) -> tuple[int, ...]:
    return tuple(p for p in (2**k for k in range(8)) if p <= arch.layers) if pipeline else (1,)


def gpu_counts(limit: int) -> list[int]:
    """1, 2, 4 GPUs, then whole 8-GPU nodes: the pool sizes a cluster hands out."""
    return [n for n in (1, 2, 4) if n <= limit and n < NODE_GPUS] + list(range(NODE_GPUS, limit + 1, NODE_GPUS))


def layouts(arch: Arch, job: Job, counts: Iterable[int], pipeline: bool) -> Iterator[Layout]:
    """Candidates in order of preference: fewest GPUs, then fewest pipeline stages, then smallest TP."""
    for n in counts:
        for pp in _pp_sizes(arch, pipeline):
            for tp in _tp_sizes(arch, job):
                if n % (tp * pp) == 0:
                    yield Layout(tp, pp, n // (tp * pp))


def _fits(arch: Arch, job: Job, layout: Layout, gpu: Gpu) -> bool:
    return estimate(arch, job, layout).total <= gpu.usable


def _first_fit(arch: Arch, job: Job, gpu: Gpu, counts: Iterable[int], pipeline: bool) -> Layout | None:
    return next((lay for lay in layouts(arch, job, counts, pipeline) if _fits(arch, job, lay, gpu)), None)


def _with_largest_micro_batch(arch: Arch, job: Job, layout: Layout, gpu: Gpu) -> Layout:
    return next(lay for b in MICRO_BATCHES if _fits(arch, job, lay := replace(layout, micro_batch=b), gpu))


def plan_job(arch: Arch, job: Job, gpu: Gpu, *, gpus: int | None = None, max_gpus: int = DEFAULT_MAX_GPUS,
             pipeline: bool = True) -> Plan:
    """The first layout that fits (see `layouts` for the order) with its largest micro-batch; when none
    fits, the least-loaded layout tried and the smallest one that would fit beyond the limits given."""
    if max_gpus < 1 or (gpus is not None and gpus < 1):
        raise TunepipeError("--gpus and --max-gpus must be at least 1")
    counts = [gpus] if gpus else gpu_counts(max_gpus)
    found = _first_fit(arch, job, gpu, counts, pipeline)
    if found:
        best = _with_largest_micro_batch(arch, job, found, gpu)
        return Plan(arch, job, gpu, True, best, estimate(arch, job, best))
    tried = min(layouts(arch, job, counts, pipeline), key=lambda lay: estimate(arch, job, lay).total)
    needs = _first_fit(arch, job, gpu, gpu_counts(SEARCH_LIMIT_GPUS), pipeline)
    with_pipeline = None if pipeline or needs else _first_fit(arch, job, gpu, gpu_counts(SEARCH_LIMIT_GPUS), True)
    return Plan(arch, job, gpu, False, tried, estimate(arch, job, tried), needs or with_pipeline,
                _advice(gpu, gpus, needs, with_pipeline))


def _advice(gpu: Gpu, gpus: int | None, needs: Layout | None, with_pipeline: Layout | None) -> str:
    limit = "--gpus" if gpus else "--max-gpus"
    if needs:
        return f"needs {needs.gpus} x {gpu.name} (TP {needs.tp} x PP {needs.pp} x DP {needs.dp}): raise {limit}"
    if with_pipeline:
        return (f"tensor parallelism alone (TP <= {NODE_GPUS}) cannot hold it; with pipeline parallelism it needs "
                f"{with_pipeline.gpus} x {gpu.name} (TP {with_pipeline.tp} x PP {with_pipeline.pp})")
    return (f"does not fit on up to {SEARCH_LIMIT_GPUS} x {gpu.name}: use lora or qlora, a shorter --seq-len, "
            "--recompute full or a larger GPU")


def plan(model: str, method: str | None = None, seq_len: int | None = None, gpu: str = "h100-80gb", *,
         gpus: int | None = None, max_gpus: int = DEFAULT_MAX_GPUS, pipeline: bool = True, **settings) -> Plan:
    """Plan a run: `model` is a known name, a local Hugging Face dir or a tunepipe config YAML (its method,
    max_seq_len and LoRA settings are the defaults); `settings` are Job fields (None = default)."""
    arch, defaults = resolve_model(model)
    job = make_job(arch, defaults, method=method, seq_len=seq_len, **settings)
    return plan_job(arch, job, get_gpu(gpu), gpus=gpus, max_gpus=max_gpus, pipeline=pipeline)
