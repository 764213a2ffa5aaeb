"""The tunepipe pipeline: the DAG of stages, and nothing else.

`build_pipeline(cfg)` returns the `@dsl.pipeline` function; the local runner and the compiler use the
very same one. Only cluster placement (GPU node pool, resources) and the fine-tuning component come
from config at build time; everything a run may change is a pipeline parameter. Fine-tuning runs:

    training.backend=nemo          nemo_finetune_op in the NeMo image on the GPU pool
                  and nodes > 1    nemo_trainjob_op, a TrainJob whose nodes run the NeMo image
    cluster.training.nodes > 1     finetune_trainjob_op, a Kubeflow Trainer TrainJob across nodes
    otherwise                      finetune_op on one GPU pod (torchrun inside when it has several GPUs)
"""


from kfp import dsl, kubernetes

from tunepipe.components.data import clean_op, data_card_op, dedup_op, ingest_op, split_op
from tunepipe.components.deploy import deploy_staging_op
from tunepipe.components.evaluation import eval_gate_op, evaluate_op
from tunepipe.components.governance import approval_gate_op
from tunepipe.components.pii import pii_op
from tunepipe.components.review import review_op
from tunepipe.components.scheduling import change_op, fingerprint_op, notify_candidate_op
from tunepipe.components.registry import register_op, serve_smoke_op
from tunepipe.components.setup import setup_op
from tunepipe.components.nemo import nemo_finetune_op, nemo_trainjob_op
from tunepipe.components.training import finetune_op, finetune_trainjob_op
from tunepipe.config import ClusterConfig, Config, GpuPoolConfig
from tunepipe.pipelines.knobs import KNOBS, pipeline_signature, with_knob_signature
from tunepipe.scheduling.change import TRAIN

PIPELINE_NAME = "tunepipe"


def _on_gpu_pool(task: dsl.PipelineTask, pool: GpuPoolConfig, shm: bool = True) -> dsl.PipelineTask:
    """GPUs, resources and placement of one node of the pool (a TrainJob step passes them on to its nodes)."""
    task.set_accelerator_type(pool.accelerator_type).set_accelerator_limit(pool.count)
    task.set_cpu_limit(pool.cpu).set_memory_limit(pool.memory)
    for key, value in pool.node_selector.items():
        kubernetes.add_node_selector(task, label_key=key, label_value=value)
    for tol in pool.tolerations:
        kubernetes.add_toleration(task, key=tol.key, operator=tol.operator, value=tol.value, effect=tol.effect)
    if shm:
        kubernetes.empty_dir_mount(task, volume_name="dshm", mount_path="/dev/shm", medium="Memory",
                                   size_limit=pool.shm_size)
    return task


def _finetune(cfg: Config, config, digest, split: dsl.PipelineTask) -> dsl.PipelineTask:
    pool = cfg.cluster.training
    if cfg.training.backend == "nemo" and pool.nodes > 1:
        task = nemo_trainjob_op(config=config, approved_digest=digest, nemo_data=split.outputs["nemo"],
                                workspace_path=dsl.WORKSPACE_PATH_PLACEHOLDER)
        return _on_gpu_pool(task, pool, shm=False)
    if cfg.training.backend == "nemo":
        task = nemo_finetune_op(config=config, approved_digest=digest, nemo_data=split.outputs["nemo"])
        task.container_spec.image = cfg.training.nemo.image
        return _on_gpu_pool(task, pool)
    inputs = {"config": config, "approved_digest": digest, "train": split.outputs["train"],
              "validation": split.outputs["validation"]}
    if pool.nodes > 1:
        task = finetune_trainjob_op(workspace_path=dsl.WORKSPACE_PATH_PLACEHOLDER, **inputs)
        return _on_gpu_pool(task, pool, shm=False)
    return _on_gpu_pool(finetune_op(**inputs), pool)


def _pipeline_config(cfg: Config) -> dsl.PipelineConfig | None:
    """A ReadWriteMany workspace volume, which a TrainJob's nodes share with the step that launched it."""
    trainjob = cfg.cluster.training.trainjob
    if cfg.cluster.training.nodes == 1:
        return None
    patch = {"accessModes": ["ReadWriteMany"]}
    if trainjob.workspace_storage_class:
        patch["storageClassName"] = trainjob.workspace_storage_class
    return dsl.PipelineConfig(workspace=dsl.WorkspaceConfig(
        size=trainjob.workspace_size, kubernetes=dsl.KubernetesWorkspaceConfig(pvcSpecPatch=patch)))


def _on_cpu(task: dsl.PipelineTask, cluster: ClusterConfig) -> dsl.PipelineTask:
    return task.set_cpu_limit(cluster.step_cpu).set_memory_limit(cluster.step_memory)


def _uncached(task: dsl.PipelineTask, cluster: ClusterConfig) -> dsl.PipelineTask:
    return _on_cpu(task, cluster).set_caching_options(False)


def _hashes_pii(cfg: Config) -> bool:
    return cfg.pii.enabled and "hash" in {cfg.pii.default_action, *cfg.pii.actions.values()}


def _with_webhook(cfg: Config, task: dsl.PipelineTask) -> dsl.PipelineTask:
    """The notification webhook's URL from its Kubernetes Secret (key `url`), when one is named."""
    if cfg.notify.webhook_secret:
        kubernetes.use_secret_as_env(task, secret_name=cfg.notify.webhook_secret,
                                     secret_key_to_env={"url": cfg.notify.webhook_url_env})
    return task


def build_pipeline(cfg: Config):
    cluster = cfg.cluster

    def tunepipe_pipeline(*args):
        params = dict(zip(pipeline_signature().parameters, args))
        config_json, data_fingerprint, git_commit = (params[k] for k in ("config_json", "data_fingerprint",
                                                                          "git_commit"))
        setup = _uncached(setup_op(
            config_json=config_json, mlflow_parent_run_id=params["mlflow_parent_run_id"],
            pipeline_job=dsl.PIPELINE_JOB_NAME_PLACEHOLDER, knobs={name: params[name] for name in KNOBS},
        ), cluster)
        config, parent = setup.outputs["config"], setup.outputs["parent_run_id"]
        data_config = setup.outputs["data_config"]

        fingerprint = _uncached(fingerprint_op(config=data_config, data_fingerprint=data_fingerprint), cluster)
        ingest = _on_cpu(ingest_op(config=data_config, data_fingerprint=fingerprint.output), cluster)
        clean = _on_cpu(clean_op(config=data_config, records=ingest.outputs["records"]), cluster)
        dedup = _on_cpu(dedup_op(config=data_config, cleaned=clean.outputs["cleaned"]), cluster)
        card = _uncached(data_card_op(
            config=config, parent_run_id=parent, ingest_summary=ingest.outputs["Output"],
            clean_summary=clean.outputs["Output"], dedup_summary=dedup.outputs["Output"],
            dataset=dedup.outputs["deduped"],
        ), cluster)
        pii = _on_cpu(pii_op(config=data_config, cleaned=dedup.outputs["deduped"]), cluster)
        if _hashes_pii(cfg):
            kubernetes.use_secret_as_env(pii, secret_name=cluster.pii_salt_secret,
                                         secret_key_to_env={"salt": cfg.pii.salt_env})
        review = _uncached(review_op(
            config=config, parent_run_id=parent, ingest_summary=ingest.outputs["Output"],
            clean_summary=clean.outputs["Output"], dedup_summary=dedup.outputs["Output"],
            pii_summary=pii.outputs["Output"], redacted=pii.outputs["redacted"],
        ), cluster)
        review.after(card)
        digest = review.outputs["digest"]
        change = _with_webhook(cfg, _uncached(change_op(config=config, parent_run_id=parent, digest=digest), cluster))
        with dsl.If(change.output == TRAIN, name="data-or-config-changed"):
            approval = _uncached(approval_gate_op(config=config, parent_run_id=parent, digest=digest), cluster)

            split = _on_cpu(split_op(config=data_config, approved_digest=digest, dataset=pii.outputs["redacted"]),
                            cluster)
            split.after(approval)
            train = _finetune(cfg, setup.outputs["training_config"], digest, split)

            evaluation = _uncached(evaluate_op(
                config=config, parent_run_id=parent, split_summary=split.outputs["Output"],
                model=train.outputs["model"], test=split.outputs["test"],
            ), cluster)
            gate = _uncached(eval_gate_op(config=config, parent_run_id=parent, eval_summary=evaluation.outputs["Output"]),
                             cluster)
            with dsl.If(gate.output == True, name="candidate-passed-eval-gate"):  # noqa: E712
                register = _uncached(register_op(
                    config=config, parent_run_id=parent, approval=approval.outputs["Output"],
                    train_summary=train.outputs["Output"], eval_summary=evaluation.outputs["Output"],
                    git_commit=git_commit, model=train.outputs["model"],
                ), cluster)
                _uncached(serve_smoke_op(config=config, parent_run_id=parent,
                                         model_uri=register.outputs["model_uri"]), cluster)
                _with_webhook(cfg, _uncached(notify_candidate_op(config=config, registered=register.outputs["summary"]),
                                             cluster))
                if cfg.serving.deploy_staging:
                    _uncached(deploy_staging_op(config=config, parent_run_id=parent,
                                                model_uri=register.outputs["model_uri"]), cluster)

    return dsl.pipeline(
        name=PIPELINE_NAME,
        description="Raw domain data to a reviewed, fine-tuned, evaluated, registered and served LLM.",
        pipeline_config=_pipeline_config(cfg),
    )(with_knob_signature(tunepipe_pipeline))
