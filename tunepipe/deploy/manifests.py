"""Kubernetes objects that serve one registered model version with trtllm-serve on the GPU pool.

    ConfigMap            trtllm-serve's --config YAML (and the LoRA routes)
    Deployment           init container: fetch the version from MLflow; trtllm-serve (+ the LoRA router)
      or ServingRuntime + InferenceService (serving.kserve: true)
    Service, PodDisruptionBudget

Placement (GPU resource name, node selector, tolerations, /dev/shm) comes from serving.trtllm.pool,
else cluster.training, as for training pods; GPUs per pod = TP x PP from config or the serving plan.
"""

from __future__ import annotations

import json
import re

from tunepipe.config import Config, GpuPoolConfig
from tunepipe.deploy import trtllm
from tunepipe.deploy.trtllm import CONFIG_DIR, ENGINE_PORT, PUBLIC_PORT, Sizes
from tunepipe.errors import TunepipeError

MANAGER = "tunepipe"
STARTUP_SECONDS = 1800
KSERVE_FORMAT = "tunepipe-hf"


def k8s_name(model_name: str, stage: str) -> str:
    """An RFC 1123 label (at most 63 characters) for the objects of `model_name` in `stage`."""
    base = re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-") or "model"
    return f"{base[:63 - len(stage) - 1].rstrip('-')}-{stage}"


def pool(cfg: Config) -> GpuPoolConfig:
    return cfg.serving.trtllm.pool or cfg.cluster.training


def labels(name: str, model_name: str, version: str, stage: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": MANAGER,
            "app.kubernetes.io/component": "trtllm-serve", "tunepipe/stage": stage,
            "tunepipe/model": re.sub(r"[^A-Za-z0-9_.-]+", "-", model_name)[:63].strip("-_."),
            "tunepipe/version": str(version)}


def _meta(name: str, namespace: str, lab: dict) -> dict:
    return {"name": name, "namespace": namespace, "labels": lab}


def _probe(path: str, port: str, period: int, failures: int) -> dict:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "failureThreshold": failures}


def _resources(cfg: Config, size: Sizes) -> dict:
    p = pool(cfg)
    limits = {"cpu": p.cpu, "memory": p.memory, p.accelerator_type: str(size.gpus)}
    return {"limits": limits, "requests": dict(limits)}


def fetch_container(cfg: Config, model_uri: str) -> dict:
    """The init container: the version's merged HF weights (and each adapter) from MLflow onto /models."""
    args = ["python", "-m", "tunepipe.deploy.fetch", "--model-uri", model_uri, "--out", trtllm.MODEL_DIR]
    for a in cfg.serving.trtllm.adapters:
        args += ["--adapter", f"{a.name}={a.uri}"]
    container = {"name": "fetch-model", "image": cfg.cluster.image, "command": args,
                 "env": [{"name": "MLFLOW_TRACKING_URI", "value": pod_tracking_uri(cfg)}],
                 "volumeMounts": [{"name": "models", "mountPath": "/models"}]}
    if cfg.serving.trtllm.mlflow_credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": cfg.serving.trtllm.mlflow_credentials_secret}}]
    return container


def pod_tracking_uri(cfg: Config) -> str:
    """The MLflow server the pods fetch from: a URL they can reach, never this machine's SQLite file."""
    uri = cfg.serving.trtllm.mlflow_tracking_uri or cfg.mlflow.tracking_uri
    if not uri or not uri.startswith(("http://", "https://", "databricks")):
        raise TunepipeError(f"the serving pods cannot fetch from MLflow at {uri or 'the local store'}: set "
                            "serving.trtllm.mlflow_tracking_uri (or mlflow.tracking_uri) to an MLflow server URL")
    return uri


def engine_container(cfg: Config, size: Sizes) -> dict:
    port = ENGINE_PORT if trtllm.has_adapters(cfg) else PUBLIC_PORT
    container = {
        "name": "trtllm-serve", "image": cfg.serving.trtllm.image, "command": trtllm.command(cfg, size),
        "ports": [{"name": "engine" if trtllm.has_adapters(cfg) else "http", "containerPort": port}],
        "resources": _resources(cfg, size),
        "volumeMounts": [{"name": "models", "mountPath": "/models"}, {"name": "config", "mountPath": CONFIG_DIR},
                         {"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if not trtllm.has_adapters(cfg):
        container |= _probes("http")
    return container


def _probes(port: str) -> dict:
    return {"startupProbe": _probe("/health", port, 10, STARTUP_SECONDS // 10),
            "readinessProbe": _probe("/health", port, 5, 3), "livenessProbe": _probe("/health", port, 15, 4)}


def router_container(cfg: Config) -> dict:
    """The sidecar that lists the adapters in /v1/models and turns `model: <adapter>` into a lora_request."""
    return {
        "name": "lora-router", "image": cfg.cluster.image,
        "command": ["python", "-m", "tunepipe.deploy.router", "--routes", f"{CONFIG_DIR}/routes.json",
                    "--upstream", f"http://127.0.0.1:{ENGINE_PORT}", "--port", str(PUBLIC_PORT)],
        "ports": [{"name": "http", "containerPort": PUBLIC_PORT}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR}],
        **_probes("http"),
    }


def _volumes(cfg: Config, config_map: str) -> list[dict]:
    return [{"name": "models", "emptyDir": {}}, {"name": "config", "configMap": {"name": config_map}},
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": pool(cfg).shm_size}}]


def _placement(cfg: Config) -> dict:
    p = pool(cfg)
    spec = {"nodeSelector": dict(p.node_selector),
            "tolerations": [{k: v for k, v in t.model_dump().items() if v is not None} for t in p.tolerations]}
    return {k: v for k, v in spec.items() if v}


def pod_spec(cfg: Config, size: Sizes, model_uri: str, config_map: str) -> dict:
    containers = [engine_container(cfg, size)] + ([router_container(cfg)] if trtllm.has_adapters(cfg) else [])
    return {"initContainers": [fetch_container(cfg, model_uri)], "containers": containers,
            "volumes": _volumes(cfg, config_map), **_placement(cfg)}


def config_map(cfg: Config, name: str, namespace: str, lab: dict, base_name: str) -> dict:
    data = {"trtllm.yaml": trtllm.config_yaml(cfg)}
    if trtllm.has_adapters(cfg):
        data["routes.json"] = json.dumps(trtllm.routes(cfg, base_name), indent=2)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, namespace, lab), "data": data}


def deployment(cfg: Config, name: str, namespace: str, lab: dict, spec: dict) -> dict:
    selector = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace, lab),
        "spec": {"replicas": cfg.serving.trtllm.replicas, "selector": {"matchLabels": selector},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": lab}, "spec": spec}},
    }


def service(name: str, namespace: str, lab: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, lab),
            "spec": {"selector": {"app.kubernetes.io/name": name},
                     "ports": [{"name": "http", "port": PUBLIC_PORT, "targetPort": "http"}]}}


def disruption_budget(name: str, namespace: str, lab: dict) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name, namespace, lab),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}}


def serving_runtime(cfg: Config, name: str, namespace: str, lab: dict, size: Sizes) -> dict:
    """KServe: the runtime holds the containers; the InferenceService's predictor adds the fetch and volumes."""
    containers = [engine_container(cfg, size)] + ([router_container(cfg)] if trtllm.has_adapters(cfg) else [])
    containers[0]["name"] = "kserve-container"
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": _meta(name, namespace, lab),
            "spec": {"supportedModelFormats": [{"name": KSERVE_FORMAT, "autoSelect": False}],
                     "protocolVersions": ["v1"], "containers": containers, **_placement(cfg)}}


def inference_service(cfg: Config, name: str, namespace: str, lab: dict, model_uri: str, config_map: str) -> dict:
    t = cfg.serving.trtllm
    predictor = {"minReplicas": t.replicas, "maxReplicas": t.replicas,
                 "model": {"modelFormat": {"name": KSERVE_FORMAT}, "runtime": name},
                 "initContainers": [fetch_container(cfg, model_uri)], "volumes": _volumes(cfg, config_map),
                 **_placement(cfg)}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": _meta(name, namespace, lab), "spec": {"predictor": predictor}}


def render(cfg: Config, model_name: str, version: str, stage: str, namespace: str | None = None,
           size: Sizes | None = None) -> list[dict]:
    """Every object for `models:/<model_name>/<version>` in `stage` (staging, production), in apply order."""
    namespace = namespace or cfg.serving.trtllm.namespace
    size = size or trtllm.sizes(cfg)
    name = k8s_name(model_name, stage)
    lab = labels(name, model_name, version, stage)
    model_uri = f"models:/{model_name}/{version}"
    cm = config_map(cfg, f"{name}-trtllm", namespace, lab, model_name)
    if cfg.serving.kserve:
        return [cm, serving_runtime(cfg, name, namespace, lab, size),
                inference_service(cfg, name, namespace, lab, model_uri, cm["metadata"]["name"])]
    spec = pod_spec(cfg, size, model_uri, cm["metadata"]["name"])
    return [cm, deployment(cfg, name, namespace, lab, spec), service(name, namespace, lab),
            disruption_budget(name, namespace, lab)]
