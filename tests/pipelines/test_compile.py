"""The compiled IR carries the GPU node pool, resources, image and UI parameters from config."""

import json

import yaml

from tunepipe.config import load_config
from tunepipe.pipelines.compile import compile_pipeline

OVERRIDES = [
    "cluster.image=registry.example.com/ml/tunepipe:1.2.3",
    "cluster.training.accelerator_type=nvidia.com/gpu",
    "cluster.training.count=4",
    "cluster.training.node_selector={cloud.google.com/gke-accelerator: nvidia-h100-80gb}",
    "cluster.training.tolerations=[{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
    "cluster.training.shm_size=32Gi",
    "mlflow.tracking_uri=http://mlflow.mlflow.svc:5000",
]


def _compile(tmp_path, overrides=OVERRIDES):
    cfg = load_config("examples/demo.yaml", overrides)
    path = compile_pipeline(cfg, tmp_path / "pipeline.yaml")
    docs = list(yaml.safe_load_all(path.read_text()))
    return cfg, docs[0], (docs[1] if len(docs) > 1 else {})


def _dags(spec: dict) -> list[dict]:
    """The root DAG's tasks and each condition's (training sits behind the change decision's dsl.If)."""
    return [spec["root"]["dag"]["tasks"]] + [c["dag"]["tasks"] for c in spec["components"].values() if "dag" in c]


def _tasks(spec: dict) -> dict:
    return {name: task for dag in _dags(spec) for name, task in dag.items()}


def _executor(spec: dict, name: str) -> dict:
    return spec["deploymentSpec"]["executors"][f"exec-{name}"]["container"]


def test_training_step_asks_for_gpus_on_the_node_pool(tmp_path):
    _, spec, platform = _compile(tmp_path)
    train = _executor(spec, "finetune-op")
    accel = train["resources"]["accelerator"]
    assert (accel["resourceType"], accel["resourceCount"]) == ("nvidia.com/gpu", "4")
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-finetune-op"]
    assert k8s["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}
    assert k8s["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert k8s["emptyDirMounts"] == [
        {"volumeName": "dshm", "mountPath": "/dev/shm", "medium": "Memory", "sizeLimit": "32Gi"}
    ]


def test_only_the_training_step_gets_gpus(tmp_path):
    _, spec, platform = _compile(tmp_path)
    for name, executor in spec["deploymentSpec"]["executors"].items():
        has_gpu = "accelerator" in executor["container"].get("resources", {})
        assert has_gpu == (name == "exec-finetune-op"), name
    assert list(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]) == ["exec-finetune-op"]


def test_every_step_runs_in_the_project_image_without_pip_installs(tmp_path):
    _, spec, _ = _compile(tmp_path)
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == 17
    for executor in executors.values():
        assert executor["container"]["image"] == "registry.example.com/ml/tunepipe:1.2.3"
        assert "pip install" not in " ".join(executor["container"]["command"])


def test_ui_parameters_default_to_the_config(tmp_path):
    cfg, spec, _ = _compile(tmp_path)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["max_steps"]["defaultValue"] == cfg.training.max_steps
    assert params["registered_model_name"]["defaultValue"] == "tunepipe-demo-support"
    assert params["approval_mode"]["defaultValue"] == "demo"
    assert json.loads(params["config_json"]["defaultValue"])["mlflow"]["tracking_uri"] == "http://mlflow.mlflow.svc:5000"


def test_register_and_serve_sit_behind_the_eval_gate(tmp_path):
    _, spec, _ = _compile(tmp_path)
    tasks = next(dag for dag in _dags(spec) if "eval-gate-op" in dag)
    condition = next(t for name, t in tasks.items() if name.startswith("condition"))
    assert "eval-gate-op" in condition["triggerPolicy"]["condition"]
    assert "register-op" not in tasks and "serve-smoke-op" not in tasks
    assert not tasks["approval-gate-op"].get("cachingOptions", {}).get("enableCache", False)


def test_data_stages_are_wired_clean_dedup_data_card_pii(tmp_path):
    _, spec, _ = _compile(tmp_path)
    tasks = spec["root"]["dag"]["tasks"]
    assert "clean-op" in tasks["dedup-op"]["dependentTasks"]
    assert "dedup-op" in tasks["pii-op"]["dependentTasks"]
    assert {"dedup-op", "data-card-op"} <= set(tasks["review-op"]["dependentTasks"])
    assert not tasks["data-card-op"].get("cachingOptions", {}).get("enableCache", False)
    outputs = spec["components"]["comp-data-card-op"]["outputDefinitions"]["artifacts"]
    assert outputs["card"]["artifactType"]["schemaTitle"] == "system.HTML"
    assert outputs["card_md"]["artifactType"]["schemaTitle"] == "system.Markdown"
    assert "nemo" in spec["components"]["comp-split-op"]["outputDefinitions"]["artifacts"]


def test_pii_salt_comes_from_a_kubernetes_secret_only_when_hashing(tmp_path):
    _, _, platform = _compile(tmp_path)
    assert "exec-pii-op" not in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    _, _, platform = _compile(tmp_path, OVERRIDES + ["pii.actions={PERSON: hash}"])
    pii = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-pii-op"]
    assert pii["secretAsEnv"][0]["secretName"] == "tunepipe-pii-salt"
    assert pii["secretAsEnv"][0]["keyToEnv"] == [{"secretKey": "salt", "envVar": "TUNEPIPE_PII_SALT"}]


def test_one_pod_with_many_gpus_runs_torchrun_inside_the_finetune_step(tmp_path):
    cfg, spec, platform = _compile(tmp_path, OVERRIDES + ["training.distributed=fsdp"])
    accel = _executor(spec, "finetune-op")["resources"]["accelerator"]
    assert accel["resourceCount"] == "4"
    assert "finetune-trainjob-op" not in _tasks(spec)
    assert "taskConfigPassthroughs" not in spec["components"]["comp-finetune-op"]
    training = json.loads(spec["root"]["inputDefinitions"]["parameters"]["config_json"]["defaultValue"])["training"]
    assert (training["distributed"], training["processes"]) == ("fsdp", None)
    assert "pipelineConfig" not in platform["platforms"]["kubernetes"]


TRAINJOB = OVERRIDES + ["cluster.training.nodes=2", "cluster.training.trainjob.runtime=torch-distributed",
                        "cluster.training.trainjob.workspace_storage_class=nfs-rwx"]


def test_many_nodes_make_the_finetune_step_a_trainjob_launcher_with_passthroughs(tmp_path):
    _, spec, platform = _compile(tmp_path, TRAINJOB)
    tasks = _tasks(spec)
    assert "finetune-op" not in tasks and "finetune-trainjob-op" in tasks
    assert tasks["evaluate-op"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]["producerTask"] == \
        "finetune-trainjob-op"
    component = spec["components"]["comp-finetune-trainjob-op"]
    passthroughs = {p["field"]: p.get("applyToTask", False) for p in component["taskConfigPassthroughs"]}
    assert passthroughs == {"RESOURCES": False, "KUBERNETES_NODE_SELECTOR": False, "KUBERNETES_TOLERATIONS": False,
                            "KUBERNETES_AFFINITY": False, "ENV": True, "KUBERNETES_VOLUMES": True}
    assert component["inputDefinitions"]["parameters"]["task_config"]["parameterType"] == "TASK_CONFIG"
    workspace = tasks["finetune-trainjob-op"]["inputs"]["parameters"]["workspace_path"]
    assert workspace["runtimeValue"]["constant"] == "{{$.workspace_path}}"


def test_trainjob_step_carries_gpus_node_selector_tolerations_and_a_shared_workspace(tmp_path):
    _, spec, platform = _compile(tmp_path, TRAINJOB)
    accel = _executor(spec, "finetune-trainjob-op")["resources"]["accelerator"]
    assert (accel["resourceType"], accel["resourceCount"]) == ("nvidia.com/gpu", "4")
    k8s = platform["platforms"]["kubernetes"]
    step = k8s["deploymentSpec"]["executors"]["exec-finetune-trainjob-op"]
    assert step["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}
    assert step["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "emptyDirMounts" not in step
    assert k8s["pipelineConfig"]["workspace"] == {
        "size": "100Gi", "kubernetes": {"pvcSpecPatch": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-rwx"}}
    }


def test_nemo_backend_runs_in_the_nemo_image_on_the_gpu_pool(tmp_path):
    cfg, spec, platform = _compile(tmp_path, OVERRIDES + ["training.backend=nemo"])
    tasks = _tasks(spec)
    assert "nemo-finetune-op" in tasks and "finetune-op" not in tasks
    assert tasks["nemo-finetune-op"]["inputs"]["artifacts"]["nemo_data"]["taskOutputArtifact"] == {
        "outputArtifactKey": "nemo", "producerTask": "split-op"
    }
    nemo = _executor(spec, "nemo-finetune-op")
    assert nemo["image"] == cfg.training.nemo.image
    assert nemo["resources"]["accelerator"]["resourceCount"] == "4"
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-nemo-finetune-op"]
    assert k8s["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}
    assert _executor(spec, "evaluate-op")["image"] == "registry.example.com/ml/tunepipe:1.2.3"


def test_nemo_across_nodes_is_a_trainjob_launcher_fed_the_nemo_files(tmp_path):
    _, spec, platform = _compile(tmp_path, TRAINJOB + ["training.backend=nemo"])
    tasks = _tasks(spec)
    assert "nemo-trainjob-op" in tasks and "nemo-finetune-op" not in tasks and "finetune-trainjob-op" not in tasks
    assert tasks["nemo-trainjob-op"]["inputs"]["artifacts"]["nemo_data"]["taskOutputArtifact"] == {
        "outputArtifactKey": "nemo", "producerTask": "split-op"
    }
    assert _executor(spec, "nemo-trainjob-op")["image"] == "registry.example.com/ml/tunepipe:1.2.3"
    passthroughs = {p["field"] for p in spec["components"]["comp-nemo-trainjob-op"]["taskConfigPassthroughs"]}
    assert {"RESOURCES", "KUBERNETES_NODE_SELECTOR", "KUBERNETES_TOLERATIONS"} <= passthroughs
    assert platform["platforms"]["kubernetes"]["pipelineConfig"]["workspace"]["kubernetes"]["pvcSpecPatch"][
        "accessModes"] == ["ReadWriteMany"]


def _config_source(task: dict) -> str:
    """Which setup-op output feeds a task's `config`, directly or through a condition's pipeline channel."""
    source = task["inputs"]["parameters"]["config"]
    if "taskOutputParameter" in source:
        assert source["taskOutputParameter"]["producerTask"] == "setup-op", source
        return source["taskOutputParameter"]["outputParameterKey"]
    channel = source["componentInputParameter"]
    assert channel.startswith("pipelinechannel--setup-op-"), channel
    return channel.removeprefix("pipelinechannel--setup-op-")


def test_cached_data_stages_get_the_data_sections_only(tmp_path):
    _, spec, _ = _compile(tmp_path)
    tasks = _tasks(spec)
    for task in ("fingerprint-op", "ingest-op", "clean-op", "dedup-op", "pii-op", "split-op"):
        assert _config_source(tasks[task]) == "data_config", task
    assert _config_source(tasks["finetune-op"]) == "training_config"
    for task in ("evaluate-op", "review-op", "change-op", "approval-gate-op"):
        assert _config_source(tasks[task]) == "config", task