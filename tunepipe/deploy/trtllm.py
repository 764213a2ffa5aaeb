"""The trtllm-serve side of a deployment: its command line, its `--config` YAML, and the LoRA routes.

What trtllm-serve does natively: serve an OpenAI-compatible API from a Hugging Face checkpoint
(`--backend pytorch`), TP/PP, batching and KV-cache settings, and LoRA through `lora_config` in the
`--config` YAML plus a per-request `lora_request` {lora_name, lora_int_id, lora_path}. What it does
not: list adapters in /v1/models or pick one by the request's `model` name (as NIM does). The deploy
layer adds that as a sidecar, tunepipe.deploy.router, fed by the routes file written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from tunepipe.config import Config
from tunepipe.deploy.plan import ServePlan, plan_arch, Request
from tunepipe.training.sizing.catalogue import get_gpu, resolve_model

MODEL_DIR = "/models/model"
ADAPTER_ROOT = "/models/adapters"
CONFIG_DIR = "/etc/tunepipe"
ENGINE_PORT = 8001
PUBLIC_PORT = 8000
LORA_MODULES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_dense",
                "gate_proj": "mlp_h_to_4h", "down_proj": "mlp_4h_to_h", "up_proj": "mlp_gate"}


@dataclass(frozen=True)
class Sizes:
    """What the server runs with, and where each number came from (config or the serving plan)."""

    tp: int
    pp: int
    max_batch_size: int
    source: str
    plan: ServePlan | None = None

    @property
    def gpus(self) -> int:
        return self.tp * self.pp


def serving_plan(cfg: Config) -> ServePlan:
    t = cfg.serving.trtllm
    arch, _ = resolve_model(cfg.model.base)
    req = Request(t.input_tokens, t.output_tokens, t.target_p95_ms, t.dtype, t.kv_cache_free_gpu_memory_fraction)
    return plan_arch(arch, get_gpu(t.gpu), req, t.tensor_parallel)


def sizes(cfg: Config) -> Sizes:
    """TP and max_batch_size from serving.trtllm, else from the serving plan of model.base on serving.trtllm.gpu."""
    t = cfg.serving.trtllm
    if t.tensor_parallel and t.max_batch_size:
        return Sizes(t.tensor_parallel, t.pipeline_parallel, t.max_batch_size, "config")
    plan = serving_plan(cfg)
    return Sizes(t.tensor_parallel or plan.tp, t.pipeline_parallel, t.max_batch_size or max(plan.max_batch, 1),
                 "plan", plan)


def has_adapters(cfg: Config) -> bool:
    return bool(cfg.serving.trtllm.adapters)


def extra_options(cfg: Config) -> dict:
    """The `--config` YAML: KV cache and, with adapters, the LoRA slots (all adapters kept on the GPU)."""
    t = cfg.serving.trtllm
    options: dict = {"kv_cache_config": {"free_gpu_memory_fraction": t.kv_cache_free_gpu_memory_fraction}}
    if t.adapters:
        options["lora_config"] = {
            "lora_dir": [f"{ADAPTER_ROOT}/{a.name}" for a in t.adapters],
            "lora_target_modules": lora_targets(cfg),
            "max_lora_rank": t.max_lora_rank,
            "max_loras": len(t.adapters),
            "max_cpu_loras": len(t.adapters),
        }
    return options


def lora_targets(cfg: Config) -> list[str]:
    """training.lora.target_modules in TensorRT-LLM's names (all seven for all-linear)."""
    wanted = cfg.training.lora.target_modules
    if "all-linear" in wanted:
        return list(LORA_MODULES.values())
    return [LORA_MODULES[m] for m in wanted if m in LORA_MODULES]


def config_yaml(cfg: Config) -> str:
    return yaml.safe_dump(extra_options(cfg), sort_keys=False)


def routes(cfg: Config, base_name: str) -> dict:
    """The router's table: request `model` -> lora_request (ids from 1); `base_name` means no adapter."""
    return {
        "base": base_name,
        "adapters": {a.name: {"lora_name": a.name, "lora_int_id": i, "lora_path": f"{ADAPTER_ROOT}/{a.name}"}
                     for i, a in enumerate(cfg.serving.trtllm.adapters, start=1)},
    }


def command(cfg: Config, size: Sizes) -> list[str]:
    """trtllm-serve on the fetched HF checkpoint; behind the router when adapters are served."""
    t = cfg.serving.trtllm
    port = ENGINE_PORT if has_adapters(cfg) else PUBLIC_PORT
    host = "127.0.0.1" if has_adapters(cfg) else "0.0.0.0"
    return ["trtllm-serve", MODEL_DIR, "--backend", "pytorch", "--host", host, "--port", str(port),
            "--tp_size", str(size.tp), "--pp_size", str(size.pp), "--max_batch_size", str(size.max_batch_size),
            "--max_num_tokens", str(t.max_num_tokens),
            "--kv_cache_free_gpu_memory_fraction", str(t.kv_cache_free_gpu_memory_fraction),
            "--config", f"{CONFIG_DIR}/trtllm.yaml"]
