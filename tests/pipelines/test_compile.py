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
    assert len(executors) == 14
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
    tasks = spec["root"]["dag"]["tasks"]
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
