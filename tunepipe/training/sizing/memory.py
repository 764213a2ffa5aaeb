"""Memory per GPU of a training job: weights, gradients, optimizer state and activations on one GPU of a layout.

Memory per GPU = weights + gradients + optimizer state + activations + a fixed framework overhead.
docs/sizing.md gives the formulas and the published recipes the plans agree with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

from tunepipe.config import LoraConfig
from tunepipe.errors import TunepipeError
from tunepipe.training.sizing.catalogue import GIB, Arch

OVERHEAD_BYTES = 2 * GIB
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
