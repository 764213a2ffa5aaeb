"""The pipeline parameters a Kubeflow UI user changes: defined once here, with the config key each sets.

The pipeline's signature (what the Kubeflow UI shows), the compiled defaults and the setup step's
input all come from `KNOBS`, so adding a knob is one line. The setup step receives the run's values as
one struct (KFP fills the placeholders inside it at run time) and writes them over the config.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

from tunepipe.config import Config, validate_config
from tunepipe.errors import TunepipeError


class Knob(NamedTuple):
    path: str
    type: type


KNOBS: dict[str, Knob] = {
    "data_paths": Knob("data.paths", str),
    "base_model": Knob("model.base", str),
    "max_steps": Knob("training.max_steps", int),
    "learning_rate": Knob("training.learning_rate", float),
    "lora_rank": Knob("training.lora.r", int),
    "eval_max_samples": Knob("evaluation.max_samples", int),
    "min_rouge_l_gain": Knob("evaluation.gate.min_rouge_l_gain", float),
    "registered_model_name": Knob("registry.model_name", str),
    "approval_mode": Knob("approval.mode", str),
}
RUN_PARAMETERS = {"data_fingerprint": "", "mlflow_parent_run_id": "", "git_commit": ""}


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
    values = {name: _get(raw, knob.path) for name, knob in KNOBS.items()}
    values["data_paths"] = ",".join(values["data_paths"])
    return values


def pipeline_signature() -> inspect.Signature:
    """`config_json`, every knob with its type, then the run-specific parameters with their defaults."""
    plain = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("config_json", plain, annotation=str)]
    params += [inspect.Parameter(name, plain, annotation=knob.type) for name, knob in KNOBS.items()]
    params += [inspect.Parameter(name, plain, annotation=str, default=default)
               for name, default in RUN_PARAMETERS.items()]
    return inspect.Signature(params)


def with_knob_signature(fn):
    """`fn(*args)` presented to KFP with `pipeline_signature()`: the parameters the Kubeflow UI shows."""
    signature = pipeline_signature()
    fn.__signature__ = signature
    fn.__annotations__ = {name: p.annotation for name, p in signature.parameters.items()}
    return fn


def _coerce(name: str, value):
    """Values arrive as text inside the setup step's struct (`"5.0"` for an int): back to the knob's type."""
    kind = KNOBS[name].type
    try:
        return int(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise TunepipeError(f"pipeline parameter {name}={value!r} is not of type {kind.__name__}") from None


def apply_knobs(config_json: str, knobs: dict) -> Config:
    """The config with the run's parameter values written over it, validated again."""
    raw = Config.from_json(config_json).model_dump()
    for name, value in knobs.items():
        value = _coerce(name, value)
        if name == "data_paths":
            value = [p.strip() for p in value.split(",") if p.strip()]
        _set(raw, KNOBS[name].path, value)
    return validate_config(raw, "(pipeline parameters)")
