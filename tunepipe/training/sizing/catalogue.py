"""The catalogue sizing works from: model shapes (known, from a Hugging Face dir, or a config) and GPU kinds.

GPU figures are the vendors' datasheet numbers (SXM parts, dense tensor FLOPs, no sparsity); the
training plans use the memory only, serving sizing also the bandwidth and FLOPs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tunepipe.config import load_config
from tunepipe.errors import TunepipeError

GIB = 2**30
MIB = 2**20
USABLE_FRACTION = 0.9


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
    bandwidth_gbs: float = 0.0
    bf16_tflops: float = 0.0
    fp8_tflops: float = 0.0

    @property
    def usable(self) -> float:
        return self.memory_mib * MIB * USABLE_FRACTION


GPUS = {g.name: g for g in [
    Gpu("a100-40gb", 40960, 1555, 312), Gpu("a100-80gb", 81920, 2039, 312),
    Gpu("h100-80gb", 81559, 3350, 989, 1979), Gpu("h200", 143771, 4800, 989, 1979),
    Gpu("l40s-48gb", 46068, 864, 362, 733), Gpu("a6000-48gb", 49140, 768, 155),
]}


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
