"""The NeMo run as data: `recipe_spec` turns the config into a JSON-serialisable description (recipe, parallel layout,
batch sizes, LoRA in NeMo's module names, paths) and checks it before any GPU is touched.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError


LORA_NAMES = {
    "q_proj": "linear_qkv", "k_proj": "linear_qkv", "v_proj": "linear_qkv", "o_proj": "linear_proj",
    "gate_proj": "linear_fc1", "up_proj": "linear_fc1", "down_proj": "linear_fc2",
}


NEMO_LORA_ALL = ["linear_qkv", "linear_proj", "linear_fc1", "linear_fc2"]


PEFT_SCHEMES = {"lora": "lora", "sft": "none"}


PROMPT_TEMPLATE = "{input}{output}"


RECIPES = {
    ("llama2", 32, 4096): "llama2_7b", ("llama2", 40, 5120): "llama2_13b", ("llama2", 80, 8192): "llama2_70b",
    ("llama3", 32, 4096): "llama3_8b", ("llama3", 80, 8192): "llama3_70b",
    ("llama31", 32, 4096): "llama31_8b", ("llama31", 80, 8192): "llama31_70b",
    ("llama31", 126, 16384): "llama31_405b", ("llama31", 16, 2048): "llama32_1b",
    ("llama31", 28, 3072): "llama32_3b",
    ("mistral", 32, 4096): "mistral_7b", ("mistral", 40, 5120): "mistral_nemo_12b",
    ("qwen2", 24, 896): "qwen2_500m", ("qwen2", 28, 1536): "qwen2_1p5b", ("qwen2", 28, 3584): "qwen2_7b",
    ("qwen2", 80, 8192): "qwen2_72b",
}


def recipe_spec(cfg: Config, nemo_data_dir: str, out_dir: str) -> dict:
    """The whole NeMo run as a JSON-serialisable dict, checked against the base model's shape."""
    from tunepipe.training.models import resolve_base_model

    t, n = cfg.training, cfg.training.nemo
    base_dir = resolve_base_model(cfg)
    hf = read_hf_config(base_dir)
    recipe = n.recipe or recipe_for(hf, cfg.model.base)
    work = Path(t.checkpoint_dir or Path(out_dir) / "checkpoints")
    gpus = n.gpus_per_node or cfg.cluster.training.count
    nodes = n.num_nodes or cfg.cluster.training.nodes
    tp, pp = parallel_layout(cfg, base_dir, nodes * gpus)
    check_layout(hf, tp, pp, nodes, gpus)
    seq = cfg.model.max_seq_len
    return {
        "recipe": recipe,
        "name": "tunepipe",
        "peft_scheme": peft_scheme(t.method),
        "lora": lora_spec(cfg) if t.method == "lora" else None,
        "merge": t.method == "lora" and t.merge,
        "tensor_parallel": tp,
        "pipeline_parallel": pp,
        "num_nodes": nodes,
        "gpus_per_node": gpus,
        "max_steps": t.max_steps,
        "learning_rate": t.learning_rate,
        "warmup_steps": round(t.warmup_ratio * t.max_steps),
        "micro_batch_size": n.micro_batch_size,
        "global_batch_size": global_batch(cfg, nodes * gpus // (tp * pp)),
        "seq_length": seq,
        "packed_sequence": n.packed_sequence,
        "packed_sequence_size": seq if n.packed_sequence else None,
        "precision": "bf16-mixed",
        "seed": t.seed,
        "checkpoint_every": min(t.checkpoint_every or t.max_steps, t.max_steps),
        "base_dir": base_dir,
        "source_data_dir": str(nemo_data_dir),
        "data_dir": str(work / "data"),
        "dataset_kwargs": {"prompt_template": PROMPT_TEMPLATE, "label_key": "output", "truncation_field": "input"},
        "work_dir": str(work),
        "run_dir": str(work / "runs"),
        "restore_path": str(work / "base_nemo"),
        "out_dir": str(out_dir),
    }


def read_hf_config(base_dir: str) -> dict:
    path = Path(base_dir) / "config.json"
    if not path.is_file():
        raise TunepipeError(f"{base_dir} has no config.json: model.base must be a Hugging Face model directory")
    raw = json.loads(path.read_text())
    return {**raw, **raw.get("text_config", {})}


def model_family(hf: dict) -> str:
    """llama2 / llama3 / llama31 (3.1 and 3.2: long rope context) / mistral / qwen2 / the model_type."""
    kind = hf.get("model_type", "")
    if kind != "llama":
        return kind
    if hf.get("vocab_size", 0) < 128000:
        return "llama2"
    return "llama31" if hf.get("max_position_embeddings", 0) > 8192 else "llama3"


def recipe_for(hf: dict, base: str) -> str:
    """The NeMo recipe whose model has this shape (family, layers, hidden size)."""
    key = (model_family(hf), hf.get("num_hidden_layers"), hf.get("hidden_size"))
    name = RECIPES.get(key)
    if name is None:
        known = ", ".join(sorted(set(RECIPES.values())))
        raise TunepipeError(
            f"no NeMo recipe known for {base} ({key[0]}, {key[1]} layers, hidden size {key[2]}): set "
            f"training.nemo.recipe to the NeMo recipe of a model with this architecture (known: {known})"
        )
    return name


def peft_scheme(method: str) -> str:
    if method not in PEFT_SCHEMES:
        raise TunepipeError(
            f"training.backend=nemo supports training.method lora or sft, not {method}: choose one of those, "
            "or set training.backend=peft"
        )
    return PEFT_SCHEMES[method]


def lora_spec(cfg: Config) -> dict:
    lora = cfg.training.lora
    return {"dim": lora.r, "alpha": lora.alpha, "dropout": lora.dropout,
            "target_modules": nemo_lora_targets(lora.target_modules)}


def nemo_lora_targets(targets: list[str]) -> list[str]:
    """Hugging Face projection names -> NeMo's fused linear names, in NeMo's order, without repeats."""
    if targets == ["all-linear"]:
        return list(NEMO_LORA_ALL)
    unknown = [t for t in targets if t not in LORA_NAMES and t not in NEMO_LORA_ALL]
    if unknown:
        raise TunepipeError(
            f"training.lora.target_modules {unknown} have no NeMo equivalent: use q_proj, k_proj, v_proj, o_proj, "
            f"gate_proj, up_proj, down_proj, all-linear, or NeMo's names ({', '.join(NEMO_LORA_ALL)})"
        )
    wanted = {LORA_NAMES.get(t, t) for t in targets}
    return [name for name in NEMO_LORA_ALL if name in wanted]


def parallel_layout(cfg: Config, base_dir: str, gpus: int) -> tuple[int, int]:
    """training.nemo.tensor_parallel / pipeline_parallel, or the sizing plan for these GPUs where unset."""
    n = cfg.training.nemo
    if n.tensor_parallel and n.pipeline_parallel:
        return n.tensor_parallel, n.pipeline_parallel
    from tunepipe.training import sizing

    arch = sizing.arch_from_hf_dir(Path(base_dir))
    job = sizing.make_job(arch, {"method": cfg.training.method, "seq_len": cfg.model.max_seq_len,
                                 "lora_rank": cfg.training.lora.r, "lora_dropout": cfg.training.lora.dropout})
    plan = sizing.plan_job(arch, job, sizing.get_gpu("h100-80gb"), gpus=gpus)
    if not plan.fits and not (n.tensor_parallel or n.pipeline_parallel):
        raise TunepipeError(
            f"{cfg.model.base} does not fit on {gpus} x h100-80gb by the sizing estimate ({plan.advice}): raise "
            "training.nemo.gpus_per_node / num_nodes, or set training.nemo.tensor_parallel and pipeline_parallel"
        )
    return n.tensor_parallel or plan.layout.tp, n.pipeline_parallel or plan.layout.pp


def check_layout(hf: dict, tp: int, pp: int, nodes: int, gpus_per_node: int) -> None:
    """Megatron's rules: TP x PP divides the GPUs, TP divides the heads, PP divides the layers."""
    gpus = nodes * gpus_per_node
    if gpus % (tp * pp):
        raise TunepipeError(
            f"tensor_parallel {tp} x pipeline_parallel {pp} = {tp * pp} does not divide the {gpus} GPUs "
            f"({nodes} node(s) x {gpus_per_node}): change training.nemo.tensor_parallel / pipeline_parallel "
            "or the GPU count"
        )
    heads = hf.get("num_attention_heads", 0)
    groups = hf.get("num_key_value_heads") or heads
    if heads % tp or groups % tp:
        raise TunepipeError(
            f"tensor_parallel {tp} must divide the model's {heads} attention heads and {groups} key/value heads: "
            "set training.nemo.tensor_parallel to a divisor of both"
        )
    layers = hf.get("num_hidden_layers", 0)
    if layers % pp:
        raise TunepipeError(
            f"pipeline_parallel {pp} must divide the model's {layers} layers: set training.nemo.pipeline_parallel "
            "to a divisor of it"
        )


def global_batch(cfg: Config, data_parallel: int) -> int:
    """training.nemo.global_batch_size, or batch_size x accumulation rounded up to micro-batch x DP."""
    n, t = cfg.training.nemo, cfg.training
    if n.packed_sequence and n.micro_batch_size != 1:
        raise TunepipeError(
            f"training.nemo.packed_sequence needs training.nemo.micro_batch_size=1 (got {n.micro_batch_size}): "
            "a packed row already holds several examples"
        )
    step = n.micro_batch_size * data_parallel
    if n.global_batch_size is not None:
        if n.global_batch_size % step:
            raise TunepipeError(
                f"training.nemo.global_batch_size {n.global_batch_size} must be a multiple of micro_batch_size "
                f"{n.micro_batch_size} x data parallel {data_parallel} = {step}"
            )
        return n.global_batch_size
    wanted = t.batch_size * t.gradient_accumulation_steps
    return -(-wanted // step) * step
