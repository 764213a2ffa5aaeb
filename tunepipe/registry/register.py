"""MLflow model registry: register the merged fine-tuned model with lineage, and load it back.

A model version is registered whole or not at all: if tagging, describing or aliasing fails after
the version exists, the version is deleted and the error re-raised. What is logged is the merged
checkpoint (never a PEFT model on a local base: MLflow then saves wrong weights without a word).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

TAG_PREFIX = "tunepipe."
MODEL_ARTIFACT = "model"
CARD_ARTIFACT = "model_card.md"
DONE_MARKER = ".tunepipe-downloaded"


def register_model(cfg: Config, model_dir: str | Path, metrics: dict, lineage: dict) -> dict:
    """Log `model_dir/merged` to MLflow, register it, tag it with lineage and set the alias."""
    import mlflow

    merged = Path(model_dir) / "merged"
    if not (merged / "config.json").is_file():
        if (Path(model_dir) / "adapter" / "adapter_config.json").is_file():
            raise TunepipeError(
                f"{model_dir} holds a PEFT adapter but no merged model (training.method={cfg.training.method}"
                f"{', training.merge=false' if cfg.training.method in ('lora', 'qlora') else ''}): the registry and "
                "the serving engines take merged weights. P-tuning and prompt tuning cannot be merged; use "
                "lora, qlora or sft (with training.merge=true) for a model to register"
            )
        raise TunepipeError(f"{merged} holds no model: run the fine-tune stage first (it writes merged/)")
    check_alias(cfg.registry.alias)
    tracking.setup_mlflow(cfg)
    owns_run = mlflow.active_run() is None
    if owns_run:
        mlflow.start_run(experiment_id=tracking.ensure_experiment(cfg), run_name="register")
    try:
        result = _log_and_register(cfg, merged, metrics, lineage)
    except BaseException:
        if owns_run:
            mlflow.end_run("FAILED")
        raise
    if owns_run:
        mlflow.end_run()
    return result


def _log_and_register(cfg: Config, merged: Path, metrics: dict, lineage: dict) -> dict:
    import mlflow

    from tunepipe.training.models import load_model_and_tokenizer

    run_id = mlflow.active_run().info.run_id
    name, alias = cfg.registry.model_name, cfg.registry.alias
    client = mlflow.MlflowClient()
    is_new_name = not client.search_registered_models(filter_string=f"name = '{name}'")
    model, tokenizer = load_model_and_tokenizer(merged)
    info = mlflow.transformers.log_model(
        transformers_model={"model": model, "tokenizer": tokenizer},
        name=MODEL_ARTIFACT,
        task="text-generation",
        pip_requirements=pip_requirements(),
    )
    version = mlflow.register_model(info.model_uri, name).version
    try:
        _describe_version(cfg, name, version, run_id, metrics, lineage)
    except BaseException:
        client.delete_model_version(name, version)
        if is_new_name:
            client.delete_registered_model(name)
        raise
    return {"name": name, "version": str(version), "alias": alias, "uri": f"models:/{name}@{alias}", "run_id": run_id}


def _describe_version(cfg: Config, name: str, version: str, run_id: str, metrics: dict, lineage: dict) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    tags = version_tags(metrics, {**lineage, "register_run_id": run_id})
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    card = model_card(cfg, name, version, metrics, lineage)
    client.update_model_version(name, version, description=card)
    mlflow.log_text(card, CARD_ARTIFACT)
    client.set_registered_model_alias(name, cfg.registry.alias, version)


def check_alias(alias: str) -> None:
    if not re.fullmatch(r"[\w-]+", alias) or alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise TunepipeError(
            f"registry.alias {alias!r} is not a usable MLflow alias: use letters, digits, '_' or '-', "
            "not 'latest' and not a version such as 'v1' (for example: candidate)"
        )


def pip_requirements() -> list[str]:
    import mlflow
    import tokenizers
    import torch
    import transformers

    return [
        f"mlflow=={mlflow.__version__}",
        f"torch=={torch.__version__.split('+')[0]}",
        f"transformers=={transformers.__version__}",
        f"tokenizers=={tokenizers.__version__}",
        "safetensors",
    ]


def version_tags(metrics: dict, lineage: dict) -> dict[str, str]:
    from tunepipe.evaluation.tags import eval_tags, metric_tags

    tags = {f"{TAG_PREFIX}{k}": str(v) for k, v in lineage.items() if v is not None}
    return {**tags, **metric_tags(metrics, TAG_PREFIX), **eval_tags(metrics)}


def model_card(cfg: Config, name: str, version: str, metrics: dict, lineage: dict) -> str:
    """The Markdown model card: what the model is, what it was trained on, how it scored."""
    from tunepipe.evaluation.tags import card_section
    from tunepipe.training.methods import describe

    lines = [
        f"# {name} v{version}",
        "",
        f"Fine-tuned from `{cfg.model.base}` with {describe(cfg)}.",
        "",
        "## Evaluation (held-out test split)",
        "",
    ]
    lines += card_section(metrics) or _legacy_scores(metrics)
    lines.append("")
    lines += ["## Lineage", "", "| key | value |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in sorted(lineage.items()) if v is not None]
    lines += ["", "## Intended use", "", "Answers questions in the style of the approved training data. "
              "Review the evaluation examples in the evaluation report before promoting it to champion.", ""]
    return "\n".join(lines)


def _legacy_scores(metrics: dict) -> list[str]:
    lines = ["| model | loss | ROUGE-L |", "|---|---|---|"]
    for which in ("base", "candidate"):
        scores = metrics.get(which) or {}
        lines.append(f"| {which} | {_fmt(scores.get('loss'))} | {_fmt(scores.get('rouge_l'))} |")
    return lines + ["", f"Rows scored for loss: {metrics.get('n_loss', '?')}; generated: {metrics.get('n_generated', '?')}."]


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def download_model_dir(cfg: Config, model_uri: str, dst: str | Path | None = None) -> str:
    """A local directory with the registered model's HF weights, config and tokenizer files.

    `models:/NAME@alias` is resolved to its version first, so a cached copy never goes stale when
    the alias moves. Default location: `<data_dir>/models/registry/<NAME>/v<VERSION>-<run id prefix>`.
    """
    import mlflow

    tracking.setup_mlflow(cfg)
    target = Path(dst) if dst else _cache_dir(cfg, model_uri)
    if (target / DONE_MARKER).is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        except Exception as err:
            raise TunepipeError(
                f"cannot download {model_uri} from MLflow at {tracking.tracking_uri(cfg)} "
                f"({type(err).__name__}: {str(err)[:200]}). Check the model name and alias in the registry."
            ) from None
        staging = Path(tmp) / "flat"
        _flatten_transformers_model(local, staging)
        (staging / DONE_MARKER).write_text(model_uri + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return str(target)


def _cache_dir(cfg: Config, model_uri: str) -> Path:
    import hashlib

    import mlflow

    root = Path(cfg.project.data_dir).resolve() / "models" / "registry"
    if model_uri.startswith("models:/"):
        ref = model_uri[len("models:/"):]
        client = mlflow.MlflowClient()
        try:
            if "@" in ref:
                name, alias = ref.split("@", 1)
                mv = client.get_model_version_by_alias(name, alias)
            elif "/" in ref and ref.rsplit("/", 1)[1].isdigit():
                mv = client.get_model_version(*ref.rsplit("/", 1))
            else:
                raise TunepipeError(f"{model_uri}: use models:/NAME@ALIAS or models:/NAME/VERSION")
        except TunepipeError:
            raise
        except Exception as err:
            raise TunepipeError(f"{model_uri} is not in the registry at {tracking.tracking_uri(cfg)}: {str(err)[:200]}") from None
        return root / mv.name / f"v{mv.version}-{(mv.run_id or 'norun')[:8]}"
    return root / "uri" / hashlib.sha256(model_uri.encode()).hexdigest()[:16]


def _flatten_transformers_model(local: Path, out: Path) -> None:
    """MLflow's transformers layout (model/ + components/tokenizer/) -> one HF directory."""
    import yaml

    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    flavor = (mlmodel.get("flavors") or {}).get("transformers")
    if not flavor:
        raise TunepipeError(f"{local} is not an MLflow transformers model (no transformers flavor in MLmodel)")
    if flavor.get("peft_adaptor") or flavor.get("source_model_revision"):
        raise TunepipeError("registered model is a PEFT adapter or a hub reference; tunepipe registers merged models only")
    sources = [local / flavor.get("model_binary", "model")]
    sources += [local / "components" / c for c in flavor.get("components", [])]
    out.mkdir(parents=True)
    for source in sources:
        for item in source.iterdir():
            shutil.move(str(item), out / item.name)
    (out / "mlflow_flavor.json").write_text(json.dumps(flavor, indent=2, default=str))


def load_registered(cfg: Config, model_uri: str):
    """(model, tokenizer) of a registered model, fp32 on CPU, tokenizer padding on the left."""
    from tunepipe.training.models import load_model_and_tokenizer

    return load_model_and_tokenizer(download_model_dir(cfg, model_uri))
