"""The fine-tuning methods of the PEFT backend: checks, model wrapping, outputs, and loading them back.

    lora           PEFT LoRA on `training.lora.target_modules`
    qlora          the same on a 4-bit (bitsandbytes NF4) base: CUDA only
    ptuning        PEFT P-tuning: virtual tokens produced by a small prompt encoder (MLP)
    prompt_tuning  PEFT prompt tuning: virtual token embeddings learnt directly
    sft            full fine-tuning: every weight trains

Outputs: `adapter/` (HF PEFT format) for the adapter methods; `merged/` (a plain HF checkpoint, what the
registry and serving engines take) for sft, and for lora/qlora with `training.merge`. P-tuning and prompt
tuning cannot be merged (their virtual tokens are extra inputs, not weight deltas): evaluation loads
their adapter on the base model (`load_trained`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tunepipe.config import PROMPT_METHODS, Config
from tunepipe.errors import TunepipeError

ADAPTER_METHODS = ("lora", "qlora", *PROMPT_METHODS)
MERGEABLE = ("lora", "qlora")
ADAPTER_CONFIG = "adapter_config.json"
BITSANDBYTES_INSTALL = "pip install bitsandbytes==0.50.2 (in the GPU image)"


@dataclass(frozen=True)
class Hardware:
    cuda: bool
    precision: str

    @property
    def dtype(self):
        """The dtype frozen base weights are held in (trainable weights stay fp32 for mixed precision)."""
        import torch

        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)


def hardware(cfg: Config) -> Hardware:
    """The device and resolved precision; a clear error for what this machine cannot do."""
    import torch

    t = cfg.training
    cuda = torch.cuda.is_available()
    if t.method == "qlora" and not cuda:
        raise TunepipeError(
            "training.method=qlora needs a CUDA GPU (bitsandbytes 4-bit weights); on this CPU-only machine "
            "use training.method=lora (same adapter, unquantised base)"
        )
    if t.method == "qlora" and importlib.util.find_spec("bitsandbytes") is None:
        raise TunepipeError(f"training.method=qlora needs the bitsandbytes package: {BITSANDBYTES_INSTALL}")
    if t.precision == "fp16" and not cuda:
        raise TunepipeError("training.precision=fp16 needs a CUDA GPU: use auto, fp32 or bf16 on CPU")
    precision = t.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    return Hardware(cuda, precision)


def virtual_tokens(cfg: Config) -> int:
    t = cfg.training
    return {"ptuning": t.ptuning.num_virtual_tokens, "prompt_tuning": t.prompt_tuning.num_virtual_tokens}.get(
        t.method, 0
    )


def check_model(cfg: Config, base_dir: str) -> None:
    """Context length and LoRA target modules, checked on the model's config and an empty (meta) model."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(base_dir)
    check_context(cfg, config)
    if cfg.training.method in MERGEABLE:
        check_target_modules(cfg, config)


def check_context(cfg: Config, config) -> None:
    context = next((getattr(config, k) for k in ("max_position_embeddings", "n_positions", "max_sequence_length")
                    if isinstance(getattr(config, k, None), int)), None)
    extra = virtual_tokens(cfg)
    need = cfg.model.max_seq_len + extra
    if context is not None and need > context:
        plus = f" + {extra} virtual tokens" if extra else ""
        raise TunepipeError(
            f"model.max_seq_len={cfg.model.max_seq_len}{plus} exceeds the context of {cfg.model.base} "
            f"({context} positions): lower model.max_seq_len to at most {context - extra}"
        )


def check_target_modules(cfg: Config, config) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    targets = cfg.training.lora.target_modules
    if targets == ["all-linear"]:
        return
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    missing = [m for m in targets if m not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise TunepipeError(
            f"training.lora.target_modules {missing} not found in the model {config.model_type!r}; "
            f"its linear layers are: {', '.join(linear)} (or use all-linear)"
        )


def load_base(cfg: Config, base_dir: str, hw: Hardware):
    """The base model to train: 4-bit for qlora, fp32 for sft and on CPU, else the compute dtype."""
    import torch
    from transformers import AutoModelForCausalLM

    if cfg.training.method == "qlora":
        return _load_4bit(cfg, base_dir, hw)
    dtype = torch.float32 if cfg.training.method == "sft" or not hw.cuda else hw.dtype
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
    model.config.use_cache = False
    return model


def _load_4bit(cfg: Config, base_dir: str, hw: Hardware):
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    compute = hw.dtype if hw.precision != "fp32" else torch.float32
    quant = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=cfg.training.qlora.quant_type,
        bnb_4bit_use_double_quant=cfg.training.qlora.double_quant, bnb_4bit_compute_dtype=compute,
    )
    model = AutoModelForCausalLM.from_pretrained(
        base_dir, quantization_config=quant, dtype=compute, device_map={"": torch.cuda.current_device()}
    )
    model.config.use_cache = False
    return prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=cfg.training.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
    )


def wrap(cfg: Config, model, base_dir: str):
    """The model the Trainer trains: a PEFT model for the adapter methods, the model itself for sft.

    New adapter weights are drawn after seeding with `training.seed`, so a run is reproducible.
    """
    from peft import get_peft_model
    from transformers import set_seed

    if cfg.training.method == "sft":
        return model
    set_seed(cfg.training.seed)
    peft = get_peft_model(model, peft_config(cfg, base_dir))
    peft.config.use_cache = False
    return peft


def peft_config(cfg: Config, base_dir: str):
    from peft import LoraConfig, PromptEncoderConfig, PromptTuningConfig

    t = cfg.training
    if t.method == "ptuning":
        return PromptEncoderConfig(
            task_type="CAUSAL_LM", num_virtual_tokens=t.ptuning.num_virtual_tokens,
            encoder_hidden_size=t.ptuning.encoder_hidden_size, encoder_reparameterization_type="MLP",
        )
    if t.method == "prompt_tuning":
        init = {"prompt_tuning_init": "RANDOM"}
        if t.prompt_tuning.init_text:
            init = {"prompt_tuning_init": "TEXT", "prompt_tuning_init_text": t.prompt_tuning.init_text,
                    "tokenizer_name_or_path": base_dir}
        return PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=t.prompt_tuning.num_virtual_tokens, **init)
    targets = t.lora.target_modules
    return LoraConfig(
        r=t.lora.r, lora_alpha=t.lora.alpha, lora_dropout=t.lora.dropout, task_type="CAUSAL_LM",
        target_modules="all-linear" if targets == ["all-linear"] else list(targets),
    )


def parameter_counts(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable_params": trainable, "total_params": sum(p.numel() for p in model.parameters())}


def save(cfg: Config, model, tokenizer, base_dir: str, out_dir: Path, hw: Hardware) -> dict:
    """Write adapter/ and/or merged/ with the tokenizer; return which were written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    method = cfg.training.method
    if method == "sft":
        _save_model(model, tokenizer, out_dir / "merged")
        return {"adapter": False, "merged": True}
    model.save_pretrained(out_dir / "adapter")
    tokenizer.save_pretrained(out_dir / "adapter")
    merged = method in MERGEABLE and cfg.training.merge
    if merged:
        _save_model(merge_adapter(base_dir, out_dir / "adapter", hw), tokenizer, out_dir / "merged")
    return {"adapter": True, "merged": merged}


def gather_fsdp(cfg: Config, trainer, base_dir: str, hw: Hardware):
    """The trained model whole again after FSDP (every rank must call this); None except on rank 0.

    The shards are gathered into a full state dict on rank 0, which loads it into a fresh, unsharded
    copy of the model (the base with a new adapter, or the base itself for sft).
    """
    from tunepipe.training import dist

    state = trainer.accelerator.get_state_dict(trainer.model_wrapped)
    if not dist.is_main():
        return None
    model = load_base(cfg, base_dir, hw)
    model = wrap(cfg, model, base_dir)
    model.load_state_dict(state)
    return model


def merge_adapter(base_dir: str, adapter_dir: Path, hw: Hardware):
    """A fresh, unquantised base with the saved LoRA adapter merged in (QLoRA merges the same way)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = hw.dtype if hw.cuda else torch.float32
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


def _save_model(model, tokenizer, target: Path) -> None:
    model.config.use_cache = True
    model.save_pretrained(target)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(target)
    tokenizer.padding_side = side


def trained_model_dir(model_dir: str | Path) -> Path:
    """What fine-tuning left in `model_dir` to score or serve: merged/ if written, else adapter/."""
    model_dir = Path(model_dir)
    for candidate, marker in ((model_dir / "merged", "config.json"), (model_dir / "adapter", ADAPTER_CONFIG)):
        if (candidate / marker).is_file():
            return candidate
    raise TunepipeError(f"{model_dir} holds no merged/ model and no adapter/: run the fine-tune stage first")


def load_trained(cfg: Config, model_dir: str | Path):
    """(model, tokenizer) on CPU in fp32 for a plain model dir, or a PEFT adapter dir loaded on the base.

    The base is `model.base` resolved on this machine (not the path recorded in the adapter, which is
    where training ran).
    """
    from tunepipe.training.models import load_model_and_tokenizer, resolve_base_model

    model_dir = Path(model_dir)
    if not (model_dir / ADAPTER_CONFIG).is_file():
        return load_model_and_tokenizer(model_dir)
    from peft import PeftModel
    from transformers import AutoTokenizer

    base, _ = load_model_and_tokenizer(resolve_base_model(cfg))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return PeftModel.from_pretrained(base, str(model_dir)).eval(), tokenizer


def describe(cfg: Config) -> str:
    """One line for model cards: the method and its settings."""
    t = cfg.training
    settings = {
        "lora": f"LoRA (r={t.lora.r}, alpha={t.lora.alpha}, targets={', '.join(t.lora.target_modules)})",
        "qlora": f"QLoRA ({t.qlora.quant_type} 4-bit base; r={t.lora.r}, alpha={t.lora.alpha}, "
                 f"targets={', '.join(t.lora.target_modules)})",
        "ptuning": f"P-tuning ({t.ptuning.num_virtual_tokens} virtual tokens, encoder {t.ptuning.encoder_hidden_size})",
        "prompt_tuning": f"prompt tuning ({t.prompt_tuning.num_virtual_tokens} virtual tokens)",
        "sft": "full fine-tuning (SFT)",
    }[t.method]
    return f"{settings}, {t.max_steps} steps"
