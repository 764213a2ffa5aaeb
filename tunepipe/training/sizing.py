"""Hardware sizing for fine-tuning: memory per GPU and the parallel layout a run needs.

`plan()` answers "how many GPUs of this kind, with which tensor / pipeline / data parallel sizes and
micro-batch" for LoRA, QLoRA, P-tuning or full SFT of a decoder-only (Llama-style) transformer at a
sequence length. Memory per GPU = weights + gradients + optimizer state + activations + a fixed
framework overhead; a layout fits when that stays under 90% of the GPU's memory. docs/sizing.md gives
the formulas and the published recipes the plans agree with.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

from tunepipe.config import LoraConfig, load_config
from tunepipe.errors import TunepipeError

GIB = 2**30
MIB = 2**20
NODE_GPUS = 8
USABLE_FRACTION = 0.9
OVERHEAD_BYTES = 2 * GIB
DEFAULT_MAX_GPUS = 64
SEARCH_LIMIT_GPUS = 1024
TP_SIZES = (1, 2, 4, 8)
MICRO_BATCHES = (8, 4, 2, 1)
METHODS = ("lora", "qlora", "ptuning", "sft")
RECOMPUTE = ("selective", "full")
ALL_LINEAR = "all-linear"
PTUNING_TOKENS = 20

BF16 = 2
NF4 = 0.5 + 0.127 / 8
SFT_BYTES = (2, 4, 12)
ADAPTER_BYTES = (4, 4, 8)
LOGIT_BYTES = 10


@dataclass(frozen=True)
class Arch:
    """The shape of a decoder-only transformer: all that sizing needs to know about a model."""

    name: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    context: int
    tied_embeddings: bool = False
    head_dim: int = 0

    @property
    def q_dim(self) -> int:
        return self.heads * (self.head_dim or self.hidden // self.heads)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * (self.head_dim or self.hidden // self.heads)

    def linears(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each projection of one layer, by its Hugging Face module name."""
        h, i = self.hidden, self.intermediate
        return {"q_proj": (h, self.q_dim), "k_proj": (h, self.kv_dim), "v_proj": (h, self.kv_dim),
                "o_proj": (self.q_dim, h), "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def linear_params(self) -> int:
        return sum(a * b for a, b in self.linears().values())

    @property
    def layer_params(self) -> int:
        return self.linear_params + 2 * self.hidden

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def total_params(self) -> int:
        tables = 1 if self.tied_embeddings else 2
        return self.layers * self.layer_params + tables * self.embedding_params + self.hidden


KNOWN_MODELS = {a.name: a for a in [
    Arch("llama-2-7b", 32, 4096, 11008, 32, 32, 32000, 4096),
    Arch("llama-2-13b", 40, 5120, 13824, 40, 40, 32000, 4096),
    Arch("llama-2-70b", 80, 8192, 28672, 64, 8, 32000, 4096),
    Arch("llama-65b", 80, 8192, 22016, 64, 64, 32000, 2048),
    Arch("llama-3-8b", 32, 4096, 14336, 32, 8, 128256, 8192),
    Arch("llama-3-70b", 80, 8192, 28672, 64, 8, 128256, 8192),
    Arch("llama-3.1-8b", 32, 4096, 14336, 32, 8, 128256, 131072),
    Arch("llama-3.1-70b", 80, 8192, 28672, 64, 8, 128256, 131072),
    Arch("mistral-7b", 32, 4096, 14336, 32, 8, 32000, 32768),
    Arch("smollm2-135m", 30, 576, 1536, 9, 3, 49152, 8192, tied_embeddings=True),
    Arch("smollm2-360m", 32, 960, 2560, 15, 5, 49152, 8192, tied_embeddings=True),
    Arch("smollm2-1.7b", 24, 2048, 8192, 32, 32, 49152, 8192, tied_embeddings=True),
]}


@dataclass(frozen=True)
class Gpu:
    """A GPU kind and its memory as nvidia-smi reports it."""

    name: str
    memory_mib: int

    @property
    def usable(self) -> float:
        return self.memory_mib * MIB * USABLE_FRACTION


GPUS = {g.name: g for g in [
    Gpu("a100-40gb", 40960), Gpu("a100-80gb", 81920), Gpu("h100-80gb", 81559), Gpu("h200", 143771),
    Gpu("l40s-48gb", 46068), Gpu("a6000-48gb", 49140),
]}


@dataclass(frozen=True)
class Job:
    """What is trained: the method, the sequence length and the method's own settings."""

    method: str
    seq_len: int
    lora_rank: int = LoraConfig().r
    lora_targets: tuple[str, ...] = tuple(LoraConfig().target_modules)
    lora_dropout: float = LoraConfig().dropout
    virtual_tokens: int = PTUNING_TOKENS
    recompute: str = "selective"
    distributed_optimizer: bool = False


@dataclass(frozen=True)
class Layout:
    """Tensor, pipeline and data parallel sizes and the micro-batch per GPU."""

    tp: int
    pp: int
    dp: int = 1
    micro_batch: int = 1

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp


@dataclass(frozen=True)
class Memory:
    """Bytes on one GPU, by what holds them."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    overhead: float = OVERHEAD_BYTES

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.overhead

    def gib(self) -> dict[str, float]:
        return {k: round(v / GIB, 2) for k, v in {**asdict(self), "total": self.total}.items()}


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


# --- models -------------------------------------------------------------------------------------------

_VARIANT_SUFFIX = re.compile(r"(-hf|-chat|-instruct|-base|-v\d+(\.\d+)*)$")


def canonical_name(name: str) -> str:
    """`meta-llama/Llama-2-7b-chat-hf` -> `llama-2-7b`: hub ids and chat/instruct variants share a shape."""
    key = name.strip().lower().rsplit("/", 1)[-1].removeprefix("meta-")
    while (shorter := _VARIANT_SUFFIX.sub("", key)) != key:
        key = shorter
    return key


def resolve_model(spec: str) -> tuple[Arch, dict]:
    """A known name or hub id, a local Hugging Face model dir, or a tunepipe config YAML -> (shape, job defaults)."""
    path = Path(spec).expanduser()
    if path.suffix in (".yaml", ".yml"):
        return _from_config(path)
    if path.is_dir():
        return arch_from_hf_dir(path), {}
    arch = KNOWN_MODELS.get(canonical_name(spec))
    if arch is None:
        raise TunepipeError(
            f"unknown model {spec!r}: known models are {', '.join(KNOWN_MODELS)}; or pass a local Hugging Face "
            "model directory (with config.json) or a tunepipe config YAML"
        )
    return arch, {}


def _from_config(path: Path) -> tuple[Arch, dict]:
    cfg = load_config(path)
    arch, _ = resolve_model(cfg.model.base)
    lora = cfg.training.lora
    defaults = {"method": cfg.training.method, "seq_len": cfg.model.max_seq_len, "lora_rank": lora.r,
                "lora_targets": tuple(lora.target_modules), "lora_dropout": lora.dropout}
    ptuning = getattr(cfg.training, "ptuning", None)
    if getattr(ptuning, "num_virtual_tokens", None):
        defaults["virtual_tokens"] = ptuning.num_virtual_tokens
    return arch, defaults


_HF_KEYS = ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "vocab_size",
            "max_position_embeddings")


def arch_from_hf_dir(path: Path) -> Arch:
    """Read the shape from a Hugging Face `config.json` (Llama-style decoder keys)."""
    file = path / "config.json"
    if not file.is_file():
        raise TunepipeError(f"{path} has no config.json: pass a Hugging Face model directory, a known model name "
                            "or a tunepipe config YAML")
    try:
        raw = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise TunepipeError(f"{file} is not valid JSON: {err}") from None
    raw = {**raw, **raw.get("text_config", {})}
    missing = [k for k in _HF_KEYS if not raw.get(k)]
    if missing:
        raise TunepipeError(f"{file} lacks {', '.join(missing)}: sizing supports Llama-style decoder configs")
    layers, hidden, intermediate, heads, vocab, context = (int(raw[k]) for k in _HF_KEYS)
    return Arch(path.name, layers, hidden, intermediate, heads, int(raw.get("num_key_value_heads") or heads),
                vocab, context, bool(raw.get("tie_word_embeddings", True)), int(raw.get("head_dim") or 0))


def get_gpu(name: str) -> Gpu:
    gpu = GPUS.get(name.strip().lower())
    if gpu is None:
        raise TunepipeError(f"unknown --gpu {name!r}: choose one of {', '.join(GPUS)}")
    return gpu


def make_job(arch: Arch, defaults: dict | None = None, **given) -> Job:
    """Merge the config's defaults with explicit settings (None = not given) and check them against the model."""
    values = {**(defaults or {}), **{k: v for k, v in given.items() if v is not None}}
    method = values.get("method")
    if method not in METHODS:
        raise TunepipeError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    seq_len = values.get("seq_len")
    if seq_len is None:
        raise TunepipeError("--seq-len is required: tokens per training sample, e.g. --seq-len 4096")
    if seq_len < 1:
        raise TunepipeError(f"--seq-len must be at least 1, got {seq_len}")
    if seq_len > arch.context:
        raise TunepipeError(f"--seq-len {seq_len} is beyond {arch.name}'s context of {arch.context} tokens")
    values.setdefault("recompute", "full" if method == "qlora" else "selective")
    if values["recompute"] not in RECOMPUTE:
        raise TunepipeError(f"--recompute must be one of {', '.join(RECOMPUTE)}, got {values['recompute']!r}")
    if "lora_targets" in values:
        values["lora_targets"] = _lora_targets(arch, values["lora_targets"])
    if values.get("lora_rank", 1) < 1:
        raise TunepipeError(f"--lora-rank must be at least 1, got {values['lora_rank']}")
    return Job(**values)


def _lora_targets(arch: Arch, targets: str | Iterable[str]) -> tuple[str, ...]:
    names = [t.strip() for t in (targets.split(",") if isinstance(targets, str) else targets) if t.strip()]
    if names == [ALL_LINEAR]:
        return tuple(arch.linears())
    unknown = sorted(set(names) - set(arch.linears()))
    if unknown or not names:
        raise TunepipeError(f"unknown LoRA target module(s) {', '.join(unknown) or '(none)'}: use "
                            f"{', '.join(arch.linears())} or {ALL_LINEAR}")
    return tuple(names)


# --- memory ----------------------------------------------------------------------------------------------

def lora_params_per_layer(arch: Arch, job: Job) -> int:
    shapes = arch.linears()
    return sum(job.lora_rank * sum(shapes[t]) for t in job.lora_targets)


def prompt_encoder_params(arch: Arch, job: Job) -> int:
    """PEFT's P-tuning PromptEncoder: virtual-token embeddings and a 3-layer MLP of width `hidden`."""
    h = arch.hidden
    return job.virtual_tokens * h + 3 * h * h + 3 * h


def trainable_params(arch: Arch, job: Job) -> int:
    if job.method == "sft":
        return arch.total_params
    if job.method == "ptuning":
        return prompt_encoder_params(arch, job)
    return arch.layers * lora_params_per_layer(arch, job)


def _states(arch: Arch, job: Job, layout: Layout, layers: int, first: bool, last: bool) -> tuple[float, ...]:
    """(weights, gradients, optimizer) bytes of one pipeline stage on one GPU."""
    tables = first + (last and (layout.pp > 1 or not arch.tied_embeddings))
    base = layers * arch.layer_params + tables * arch.embedding_params
    if job.method == "sft":
        weights, grads, optim = (b * base / layout.tp for b in SFT_BYTES)
        return weights, grads, optim / (layout.dp if job.distributed_optimizer else 1)
    if job.method == "qlora":
        frozen = layers * arch.linear_params * NF4 + (base - layers * arch.linear_params) * BF16
    else:
        frozen = base * BF16
    if job.method == "ptuning":
        adapters = prompt_encoder_params(arch, job) if first else 0
    else:
        adapters = layers * lora_params_per_layer(arch, job) / layout.tp
    weights, grads, optim = (b * adapters for b in ADAPTER_BYTES)
    return frozen / layout.tp + weights, grads, optim


def layer_activation_bytes(arch: Arch, job: Job, tokens: int) -> float:
    """What one layer keeps for backward, bf16, with flash attention (no seq x seq scores are stored)."""
    per_token = 8 * arch.hidden + 4 * arch.q_dim + 4 * arch.kv_dim + 8 * arch.intermediate
    if job.method in ("lora", "qlora"):
        shapes = arch.linears()
        dropout_copy = 2 if job.lora_dropout > 0 else 0
        per_token += sum(2 * job.lora_rank + dropout_copy * shapes[t][0] for t in job.lora_targets)
    return tokens * per_token


def _activations(arch: Arch, job: Job, layout: Layout, layers: int, first: bool, last: bool) -> float:
    virtual = job.virtual_tokens if job.method == "ptuning" else 0
    tokens = layout.micro_batch * (job.seq_len + virtual)
    layer = layer_activation_bytes(arch, job, tokens)
    in_flight = layout.pp if first and job.method != "qlora" else 1
    if job.recompute == "full":
        kept = in_flight * layers * BF16 * tokens * arch.hidden + layer
    else:
        kept = in_flight * layers * layer
    if last:
        kept += tokens * (LOGIT_BYTES * arch.vocab + 2 * BF16 * arch.hidden)
    return kept / layout.tp


def estimate(arch: Arch, job: Job, layout: Layout) -> Memory:
    """Memory on the fullest GPU of `layout`: the first pipeline stage (activations in flight) or the last (logits)."""
    layers = math.ceil(arch.layers / layout.pp)
    stages = [(True, True)] if layout.pp == 1 else [(True, False), (False, True)]
    return max((Memory(*_states(arch, job, layout, layers, first, last),
                       _activations(arch, job, layout, layers, first, last)) for first, last in stages),
               key=lambda m: m.total)


# --- layout search -----------------------------------------------------------------------------------------

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


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def print_plan(console, result: Plan) -> None:
    """The plan for a person: the layout, the per-GPU memory by part, and what to change when it does not fit."""
    from rich.table import Table

    arch, job, lay = result.arch, result.job, result.layout
    verdict = "[green]fits[/]" if result.fits else "[red]does not fit[/]"
    console.print(f"{job.method} of {arch.name} ({_count(arch.total_params)} params, "
                  f"{_count(trainable_params(arch, job))} trainable), {job.seq_len} tokens, "
                  f"recompute {job.recompute}: {verdict}")
    shown = "layout" if result.fits else "closest layout tried"
    console.print(f"{shown}: {lay.gpus} x {result.gpu.name}, tensor parallel {lay.tp}, pipeline parallel {lay.pp}, "
                  f"data parallel {lay.dp}, micro-batch {lay.micro_batch}")
    table = Table("part", "GiB per GPU", title="Memory on the fullest GPU")
    for part, gib in result.memory.gib().items():
        table.add_row(part, f"{gib:.1f}")
    table.add_row("usable (90%)", f"{result.gpu.usable / GIB:.1f}")
    console.print(table)
    if result.advice:
        console.print(result.advice, highlight=False)
