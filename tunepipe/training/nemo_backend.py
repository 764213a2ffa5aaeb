"""Fine-tuning stage, NeMo backend: LoRA or full SFT with NeMo 2.x recipes, tensor and pipeline parallel.

    finetune = checks -> recipe_spec -> stage data -> import HF ckpt -> run recipe -> export to HF

On one node `finetune` launches torchrun over the pod's GPUs itself; across nodes (a Kubeflow Trainer
TrainJob, `trainjob`) every process runs `finetune_on_node`: rank 0 does the steps around training.

`recipe_spec` turns the config into a plain, JSON-serialisable description of the run (recipe name,
parallel layout, batch sizes, LoRA settings in NeMo's module names, data and checkpoint paths) and
checks it; `build_recipe` turns that into NeMo's own recipe object. Outputs match the PEFT backend
(`peft_backend`), so evaluation, registry and serving cannot tell the two apart: `out_dir/adapter`
(HF PEFT, lora), `out_dir/merged` (HF, sft and lora with `training.merge`) and
`out_dir/finetune_summary.json`.

NeMo (`nemo_toolkit[nlp]<=2.7.3`, `nemo_run`) exists only in the image nvcr.io/nvidia/nemo:25.11.01 on
GPUs: it is imported inside the functions that need it, never when this module is imported.
docs/nemo.md says what has and has not been run against real NeMo.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from tunepipe.config import NEMO_IMAGE, Config
from tunepipe.errors import TunepipeError
from tunepipe.polling import PollTimeout, poll
from tunepipe.tracking import log_metrics
from tunepipe.training.contract import SUMMARY_FILE, TrainInputs, active_run_id

READY_MARKER = ".prepared.json"
NEMO_FILES = ("training.jsonl", "validation.jsonl", "test.jsonl")
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
MISSING_NEMO = (
    "training.backend=nemo needs NeMo 2.x (nemo_toolkit[nlp]<=2.7.3 and nemo_run), which is not installed "
    f"here: run the fine-tune step in the image {NEMO_IMAGE} (on GPUs), or set training.backend=peft"
)


# --- the run, as data -------------------------------------------------------------------------------

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


# --- NeMo's recipe ------------------------------------------------------------------------------------

def import_nemo():
    """(nemo.collections.llm, nemo_run), or the error that says where NeMo lives."""
    try:
        import nemo_run
        from nemo.collections import llm
    except ImportError:
        raise TunepipeError(MISSING_NEMO) from None
    return llm, nemo_run


def recipe_module(llm, name: str):
    import importlib

    module = getattr(llm, name, None)
    if module is None:
        try:
            module = importlib.import_module(f"nemo.collections.llm.recipes.{name}")
        except ImportError:
            raise TunepipeError(f"NeMo has no recipe {name!r}: check training.nemo.recipe") from None
    return module


def build_recipe(spec: dict):
    """NeMo's fine-tuning recipe (a nemo_run.Partial of llm.finetune) with the spec applied."""
    llm, run = import_nemo()
    from nemo.collections.llm.gpt.data.packed_sequence import PackedSequenceSpecs

    recipe = recipe_module(llm, spec["recipe"]).finetune_recipe(
        dir=spec["run_dir"], name=spec["name"], num_nodes=spec["num_nodes"],
        num_gpus_per_node=spec["gpus_per_node"], peft_scheme=spec["peft_scheme"],
        packed_sequence=spec["packed_sequence"],
    )
    apply_trainer(recipe, spec)
    recipe.model.config.seq_length = spec["seq_length"]
    packed = None
    if spec["packed_sequence"]:
        packed = run.Config(PackedSequenceSpecs, packed_sequence_size=spec["packed_sequence_size"])
    recipe.data = run.Config(
        llm.FineTuningDataModule, dataset_root=spec["data_dir"], seq_length=spec["seq_length"],
        micro_batch_size=spec["micro_batch_size"], global_batch_size=spec["global_batch_size"],
        seed=spec["seed"], packed_sequence_specs=packed, dataset_kwargs=dict(spec["dataset_kwargs"]),
    )
    recipe.optim.config.lr = spec["learning_rate"]
    recipe.optim.lr_scheduler.warmup_steps = spec["warmup_steps"]
    recipe.resume.restore_config.path = spec["restore_path"]
    if spec["lora"]:
        for key, value in spec["lora"].items():
            setattr(recipe.peft, key, value)
    return recipe


def apply_trainer(recipe, spec: dict) -> None:
    trainer = recipe.trainer
    trainer.strategy.tensor_model_parallel_size = spec["tensor_parallel"]
    trainer.strategy.pipeline_model_parallel_size = spec["pipeline_parallel"]
    trainer.num_nodes = spec["num_nodes"]
    trainer.devices = spec["gpus_per_node"]
    trainer.max_steps = spec["max_steps"]
    trainer.val_check_interval = spec["checkpoint_every"]
    trainer.plugins.precision = spec["precision"]
    recipe.log.ckpt.every_n_train_steps = spec["checkpoint_every"]


# --- the stage ------------------------------------------------------------------------------------------

def finetune(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune with NeMo on one node (torchrun over its GPUs) on the approved split's NeMo files; write HF
    outputs and the summary. Across nodes every node runs `finetune_on_node` instead (a TrainJob)."""
    started = time.perf_counter()
    spec = checked_spec(cfg, nemo_data_dir, out_dir, digest)
    if spec["num_nodes"] > 1:
        raise TunepipeError(
            f"training.nemo.num_nodes={spec['num_nodes']} but this step runs on one node: set "
            f"cluster.training.nodes={spec['num_nodes']} so the pipeline runs NeMo as a Kubeflow Trainer TrainJob"
        )
    llm, run = import_nemo()
    tokenizer, rows = prepare(cfg, llm, run, spec)
    run.run(build_recipe(spec), executor=run.LocalExecutor(ntasks_per_node=spec["gpus_per_node"],
                                                           launcher="torchrun"), name=spec["name"])
    return finish(cfg, llm, spec, tokenizer, rows, digest, started)


def finetune_on_node(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str, rank: int,
                     wait_s: float = 3600.0) -> dict | None:
    """One torchrun process of a multi-node NeMo run (`worker` on a TrainJob's nodes).

    Global rank 0 stages the data and imports the base model, while the others wait for its marker beside
    `out_dir` on the shared workspace (`<out_dir>.prepared.json`, unique per TrainJob); then every process
    trains in-process (`direct=True`, NeMo's Megatron strategy reads torchrun's environment); rank 0
    exports and returns the summary, the others None.
    """
    started = time.perf_counter()
    llm, run = import_nemo()
    if rank == 0:
        spec, tokenizer, rows = prepared_on_rank0(cfg, llm, run, nemo_data_dir, out_dir, digest)
    else:
        spec = recipe_spec(cfg, nemo_data_dir, out_dir)
        rows = wait_for_marker(marker_path(out_dir), wait_s)
    run.run(build_recipe(spec), direct=True, name=spec["name"])
    if rank != 0:
        return None
    return finish(cfg, llm, spec, tokenizer, rows, digest, started)



def prepared_on_rank0(cfg: Config, llm, run, nemo_data_dir: str, out_dir: str, digest: str):
    """Checks, staging and import on rank 0; the marker carries the row counts, or the error for the others."""
    marker = marker_path(out_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        spec = checked_spec(cfg, nemo_data_dir, out_dir, digest)
        tokenizer, rows = prepare(cfg, llm, run, spec)
    except TunepipeError as err:
        marker.write_text(json.dumps({"error": str(err)}))
        raise
    marker.write_text(json.dumps({"rows": rows}))
    return spec, tokenizer, rows


def marker_path(out_dir: str) -> Path:
    out = Path(out_dir)
    return out.with_name(out.name + READY_MARKER)


def wait_for_marker(path: Path, wait_s: float, poll_s: float = 5.0) -> dict:
    try:
        poll(lambda: path.is_file() or None, wait_s, poll_s)
    except PollTimeout:
        raise TunepipeError(f"rank 0 did not prepare the NeMo run within {wait_s:g} s ({path} never appeared)") from None
    marker = json.loads(path.read_text())
    if "error" in marker:
        raise TunepipeError(f"rank 0 refused the run: {marker['error']}")
    return marker["rows"]


def checked_spec(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str) -> dict:
    from tunepipe.training.contract import check_inputs

    check_inputs(cfg, nemo_data_dir, digest)
    return recipe_spec(cfg, nemo_data_dir, out_dir)


def prepare(cfg: Config, llm, run, spec: dict) -> tuple[object, dict]:
    """The chat-formatted data and the imported base checkpoint; (tokenizer, rows per file)."""
    tokenizer = load_tokenizer(spec["base_dir"])
    rows = stage_data(cfg, tokenizer, spec["source_data_dir"], spec["data_dir"])
    import_base(llm, run, spec)
    return tokenizer, rows


def finish(cfg: Config, llm, spec: dict, tokenizer, rows: dict, digest: str, started: float) -> dict:
    written = export(llm, spec, tokenizer)
    result = summary(cfg, spec, rows, written, digest, time.perf_counter() - started)
    (Path(spec["out_dir"]) / SUMMARY_FILE).write_text(json.dumps(result, indent=2))
    log_metrics({k: result[k] for k in ("train_loss", "val_loss", "seconds") if result[k] is not None})
    if not cfg.training.checkpoint_dir:
        shutil.rmtree(spec["work_dir"], ignore_errors=True)
    return result


def load_tokenizer(base_dir: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if not tokenizer.chat_template:
        raise TunepipeError(
            f"the tokenizer in {base_dir} has no chat template, which training formats every row with: use an "
            "instruct/chat model, or add a chat_template to its tokenizer_config.json"
        )
    return tokenizer


def stage_data(cfg: Config, tokenizer, source: str, target: str) -> dict:
    """Copy the NeMo files with `input` rendered through the chat template (as evaluation and serving
    prompt) and `output` the answer with the template's end of turn; returns rows per file."""
    from tunepipe.training.data import prompt_messages, prompt_text

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in NEMO_FILES:
        src = Path(source) / name
        if not src.is_file():
            raise TunepipeError(f"{src} is missing: the NeMo data comes from the split stage's `nemo` output")
        lines = []
        for line in src.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                messages = prompt_messages(cfg, row["input"])
                prompt = prompt_text(tokenizer, messages)
                full = tokenizer.apply_chat_template(
                    messages + [{"role": "assistant", "content": row["output"]}], tokenize=False
                )
                lines.append(json.dumps({"input": prompt, "output": full[len(prompt):]}))
        (out / name).write_text("".join(f"{line}\n" for line in lines))
        counts[name] = len(lines)
    if not counts["training.jsonl"]:
        raise TunepipeError(f"{source}/training.jsonl has no rows: re-run the split stage with more data")
    return counts


def import_base(llm, run, spec: dict) -> None:
    """The HF base model as a NeMo checkpoint at spec['restore_path'] (once per work dir)."""
    if Path(spec["restore_path"]).exists():
        return
    model = recipe_module(llm, spec["recipe"]).model()
    run.run(run.Partial(llm.import_ckpt, model=model, source=f"hf://{spec['base_dir']}",
                        output_path=spec["restore_path"]),
            executor=run.LocalExecutor(), name="import")


def _checkpoint_step(path: Path) -> tuple[int, str]:
    match = re.search(r"step=(\d+)", path.name)
    return (int(match.group(1)) if match else -1, str(path))


def last_checkpoint(run_dir: str) -> Path:
    """The `*-last` checkpoint with the highest step in its name (NeMo's naming), never by file time."""
    found = sorted((p for p in Path(run_dir).rglob("*-last") if p.is_dir()), key=_checkpoint_step)
    if not found:
        raise TunepipeError(f"NeMo wrote no final checkpoint (*-last) under {run_dir}: see the training log above")
    return found[-1]


def export(llm, spec: dict, tokenizer) -> dict:
    """adapter/ (HF PEFT) for lora, merged/ (HF) for sft and merged lora, each with the tokenizer."""
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(spec["run_dir"])
    if spec["peft_scheme"] == "none":
        llm.export_ckpt(path=str(last), target="hf", output_path=str(out / "merged"))
        save_tokenizer(tokenizer, out / "merged", "left")
        return {"adapter": False, "merged": True}
    llm.peft.export_lora(lora_checkpoint_path=str(last), output_path=str(out / "adapter"))
    save_tokenizer(tokenizer, out / "adapter", "right")
    if spec["merge"]:
        merged_nemo = Path(spec["work_dir"]) / "merged_nemo"
        llm.peft.merge_lora(lora_checkpoint_path=str(last), output_path=str(merged_nemo))
        llm.export_ckpt(path=str(merged_nemo), target="hf", output_path=str(out / "merged"))
        save_tokenizer(tokenizer, out / "merged", "left")
    return {"adapter": True, "merged": spec["merge"]}


def save_tokenizer(tokenizer, target: Path, padding_side: str) -> None:
    side = tokenizer.padding_side
    tokenizer.padding_side = padding_side
    tokenizer.save_pretrained(target)
    tokenizer.padding_side = side


def read_losses(run_dir: str, tag: str) -> list[float]:
    """Scalars NeMo logged to TensorBoard under `tag` (empty when tensorboard is not importable)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return []
    values = []
    for events in sorted(Path(run_dir).rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        if tag in acc.Tags().get("scalars", []):
            values += [e.value for e in acc.Scalars(tag)]
    return values


def mean_tail(values: list[float]) -> float | None:
    if not values:
        return None
    tail = values[-max(1, len(values) // 5):]
    return round(sum(tail) / len(tail), 4)


def summary(cfg: Config, spec: dict, rows: dict, written: dict, digest: str, seconds: float) -> dict:
    """The PEFT backend's summary keys where they apply; what NeMo does not report is None."""
    train_losses = read_losses(spec["run_dir"], "reduced_train_loss")
    val_losses = read_losses(spec["run_dir"], "val_loss")
    return {
        "backend": "nemo",
        "steps": spec["max_steps"],
        "train_loss": mean_tail(train_losses),
        "first_train_loss": round(train_losses[0], 4) if train_losses else None,
        "val_loss": round(val_losses[-1], 4) if val_losses else None,
        "tokens_per_s": None,
        "method": cfg.training.method,
        "precision": "bf16",
        "packing": spec["packed_sequence"],
        "outputs": written,
        "train_rows": rows["training.jsonl"],
        "val_rows": rows["validation.jsonl"],
        "nemo": {k: spec[k] for k in ("recipe", "peft_scheme", "tensor_parallel", "pipeline_parallel",
                                      "num_nodes", "gpus_per_node", "global_batch_size", "micro_batch_size")},
        "training_run_id": active_run_id(),
        "seconds": round(seconds, 2),
        "digest": digest,
        "base_model": cfg.model.base,
    }


class NemoBackend:
    """The `contract.Backend` protocol over `finetune` (the NeMo split files, in the NeMo image)."""

    def finetune(self, cfg: Config, inputs: TrainInputs, out_dir: str) -> dict:
        return finetune(cfg, inputs.nemo_dir, out_dir, inputs.digest)


NEMO = NemoBackend()
