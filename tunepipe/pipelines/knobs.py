"""The pipeline parameters a Kubeflow UI user changes, and how each maps onto the config."""

from __future__ import annotations

from tunepipe.config import Config, validate_config

KNOBS: dict[str, str] = {
    "data_paths": "data.paths",
    "base_model": "model.base",
    "max_steps": "training.max_steps",
    "learning_rate": "training.learning_rate",
    "lora_rank": "training.lora.r",
    "eval_max_samples": "evaluation.max_samples",
    "min_rouge_l_gain": "evaluation.gate.min_rouge_l_gain",
    "registered_model_name": "registry.model_name",
    "approval_mode": "approval.mode",
}


def _get(raw: dict, dotted: str):
    for key in dotted.split("."):
        raw = raw[key]
    return raw


def _set(raw: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        raw = raw[key]
    raw[last] = value


def knob_defaults(cfg: Config) -> dict:
    """The knob values a config implies: the compiled pipeline's parameter defaults."""
    raw = cfg.model_dump()
    values = {name: _get(raw, path) for name, path in KNOBS.items()}
    values["data_paths"] = ",".join(values["data_paths"])
    return values


def apply_knobs(config_json: str, knobs: dict) -> Config:
    """The config with the run's parameter values written over it, validated again."""
    raw = Config.from_json(config_json).model_dump()
    for name, value in knobs.items():
        if name == "data_paths":
            value = [p.strip() for p in str(value).split(",") if p.strip()]
        _set(raw, KNOBS[name], value)
    return validate_config(raw, "(pipeline parameters)")
