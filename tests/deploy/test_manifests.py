"""What `tunepipe deploy` writes: trtllm-serve Deployment / KServe objects, validated offline."""

from __future__ import annotations

import json
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from tunepipe.cli import app
from tunepipe.deploy import manifests, trtllm
from tunepipe.deploy.deploy import deploy, parse_ref
from tunepipe.errors import TunepipeError

from tests.deploy.conftest import MODEL

runner = CliRunner()
ADAPTERS = [{"name": "billing", "uri": "runs:/r1/adapter"}, {"name": "returns", "uri": "runs:/r2/adapter"}]


def by_kind(objects: list[dict]) -> dict:
    return {o["kind"]: o for o in objects}


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def validate_strict(objects: list[dict]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, "1.37.0", strict=True)


def test_merged_model_deployment_runs_trtllm_serve_sized_by_the_plan(cfg):
    plan = trtllm.serving_plan(cfg)
    objects = manifests.render(cfg, MODEL, "2", "staging")
    kinds = by_kind(objects)
    assert list(kinds) == ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget"]
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    [engine] = pod["containers"]
    assert engine["image"] == "nvcr.io/nvidia/tensorrt-llm/release:1.2.0"
    command = engine["command"]
    assert command[:4] == ["trtllm-serve", "/models/model", "--backend", "pytorch"]
    assert (flag(command, "--tp_size"), flag(command, "--pp_size")) == (str(plan.tp), "1")
    assert flag(command, "--max_batch_size") == str(plan.max_batch)
    assert flag(command, "--kv_cache_free_gpu_memory_fraction") == "0.9"
    assert engine["resources"]["limits"] == {"cpu": "16", "memory": "128G", "nvidia.com/gpu": str(plan.tp)}
    assert {engine[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe", "startupProbe")} == {"/health"}
    [fetch] = pod["initContainers"]
    assert fetch["image"] == "registry.example.com/ml/tunepipe:1.2.3"
    assert fetch["command"][2:6] == ["tunepipe.deploy.fetch", "--model-uri", f"models:/{MODEL}/2", "--out"]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert yaml.safe_load(kinds["ConfigMap"]["data"]["trtllm.yaml"]) == {
        "kv_cache_config": {"free_gpu_memory_fraction": 0.9}}
    assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    validate_strict(objects)


def test_tp_pp_and_batch_from_config_override_the_plan(make_cfg):
    cfg = make_cfg(serving={"trtllm": {"tensor_parallel": 4, "pipeline_parallel": 2, "max_batch_size": 64,
                                       "pool": {"accelerator_type": "nvidia.com/gpu", "count": 8,
                                                "node_selector": {"pool": "h200"}, "tolerations": []}}})
    assert trtllm.sizes(cfg).source == "config"
    deployment = by_kind(manifests.render(cfg, MODEL, "1", "production"))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    sizes = (flag(command, "--tp_size"), flag(command, "--pp_size"), flag(command, "--max_batch_size"))
    assert sizes == ("4", "2", "64")
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert pod["nodeSelector"] == {"pool": "h200"} and "tolerations" not in pod


def test_a_70b_base_gets_tensor_parallel_from_the_plan(make_cfg):
    cfg = make_cfg(model={"base": "llama-3.1-70b"})
    size = trtllm.sizes(cfg)
    assert size.source == "plan" and size.tp >= 2


def test_lora_adapters_get_lora_config_and_the_router_in_front(make_cfg):
    cfg = make_cfg(serving={"trtllm": {"adapters": ADAPTERS}},
                   training={"lora": {"target_modules": ["q_proj", "v_proj"]}})
    objects = manifests.render(cfg, MODEL, "3", "staging")
    kinds = by_kind(objects)
    options = yaml.safe_load(kinds["ConfigMap"]["data"]["trtllm.yaml"])
    assert options["lora_config"] == {"lora_dir": ["/models/adapters/billing", "/models/adapters/returns"],
                                      "lora_target_modules": ["attn_q", "attn_v"], "max_lora_rank": 64,
                                      "max_loras": 2, "max_cpu_loras": 2}
    routes = json.loads(kinds["ConfigMap"]["data"]["routes.json"])
    assert routes["adapters"]["returns"] == {"lora_name": "returns", "lora_int_id": 2,
                                             "lora_path": "/models/adapters/returns"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    engine, router = pod["containers"]
    assert (flag(engine["command"], "--host"), flag(engine["command"], "--port")) == ("127.0.0.1", "8001")
    assert "readinessProbe" not in engine and router["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert router["command"][2] == "tunepipe.deploy.router"
    assert pod["initContainers"][0]["command"][-4:] == ["--adapter", "billing=runs:/r1/adapter",
                                                        "--adapter", "returns=runs:/r2/adapter"]
    validate_strict(objects)


def test_kserve_renders_a_serving_runtime_and_an_inference_service(make_cfg):
    cfg = make_cfg(serving={"kserve": True})
    objects = manifests.render(cfg, MODEL, "5", "staging")
    kinds = by_kind(objects)
    assert list(kinds) == ["ConfigMap", "ServingRuntime", "InferenceService"]
    runtime, isvc = kinds["ServingRuntime"], kinds["InferenceService"]
    assert runtime["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert runtime["spec"]["containers"][0]["name"] == "kserve-container"
    assert runtime["spec"]["containers"][0]["command"][0] == "trtllm-serve"
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"] == {"modelFormat": {"name": "tunepipe-hf"}, "runtime": runtime["metadata"]["name"]}
    assert predictor["initContainers"][0]["command"][4] == f"models:/{MODEL}/5"
    validate_strict([kinds["ConfigMap"]])


def test_names_are_dns_labels():
    name = manifests.k8s_name("Team_Support/Bot" + "x" * 80, "production")
    assert len(name) <= 63 and name.endswith("-production") and name == name.lower() and "_" not in name


@pytest.mark.parametrize("ref, parsed", [("m@candidate", ("m", "candidate", None)), ("models:/m/7", ("m", None, "7")),
                                         ("models:/m@champion", ("m", "champion", None))])
def test_references(ref, parsed):
    assert parse_ref(ref) == parsed


def test_a_bad_reference_or_unknown_alias_is_one_clear_error(cfg):
    with pytest.raises(TunepipeError, match="NAME@ALIAS"):
        parse_ref("just-a-name")
    with pytest.raises(TunepipeError, match="not in the registry"):
        deploy(cfg, f"{MODEL}@nosuchalias")
    with pytest.raises(TunepipeError, match="--stage must be one of staging, production"):
        deploy(cfg, f"{MODEL}@candidate", stage="prod")


def test_cli_writes_manifests_trtllm_yaml_and_a_kustomization(tmp_path, cfg):
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(json.loads(cfg.to_json())))
    out = tmp_path / "out"
    result = runner.invoke(app, ["deploy", f"{MODEL}@candidate", "--config", str(tmp_path / "cfg.yaml"),
                                 "--namespace", "team-ml", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{MODEL} v2 -> staging team-ml/{MODEL}-staging" in result.output
    objects = list(yaml.safe_load_all((out / "manifests.yaml").read_text()))
    assert {o["metadata"]["namespace"] for o in objects} == {"team-ml"}
    assert yaml.safe_load((out / "trtllm.yaml").read_text())["kv_cache_config"]["free_gpu_memory_fraction"] == 0.9
    if shutil.which("kubectl"):
        built = subprocess.run(["kubectl", "kustomize", str(out)], capture_output=True, text=True, check=True)
        validate_strict(list(yaml.safe_load_all(built.stdout)))
    no_target = runner.invoke(app, ["deploy", f"{MODEL}@candidate", "--config", str(tmp_path / "cfg.yaml")])
    assert no_target.exit_code != 0


def test_champion_deploys_to_production(cfg):
    summary = deploy(cfg, f"{MODEL}@champion")
    assert (summary["stage"], summary["version"], summary["name"]) == ("production", "3", f"{MODEL}-production")


def test_infra_serving_kustomization_builds_and_validates():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed (apt-get install kubectl)")
    built = subprocess.run(["kubectl", "kustomize", "infra/k8s/serving"], capture_output=True, text=True, check=True)
    objects = list(yaml.safe_load_all(built.stdout))
    assert {o["kind"] for o in objects} == {"Namespace", "Role", "RoleBinding"}
    validate_strict(objects)


def test_the_fetch_reads_the_mlflow_server_the_pods_can_reach(make_cfg):
    cfg = make_cfg(serving={"trtllm": {"mlflow_credentials_secret": "mlflow-reader"}})
    [fetch] = manifests.pod_spec(cfg, trtllm.sizes(cfg), f"models:/{MODEL}/1", "cm")["initContainers"]
    assert fetch["env"] == [{"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow.mlflow.svc:5000"}]
    assert fetch["envFrom"] == [{"secretRef": {"name": "mlflow-reader"}}]
    local = make_cfg(serving={"trtllm": {"mlflow_tracking_uri": None}})
    with pytest.raises(TunepipeError, match="set serving.trtllm.mlflow_tracking_uri"):
        manifests.render(local, MODEL, "1", "staging")
