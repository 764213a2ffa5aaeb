"""`deploy --apply`, the production rollout and the staging component against a fake Kubernetes API on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tunepipe.deploy import apply as deploy_apply
from tunepipe.deploy.deploy import deploy
from tunepipe.deploy.rollout import roll_production
from tunepipe.errors import TunepipeError

from tests.deploy.conftest import MODEL
from tests.deploy.fake_k8s import FakeKubernetes

NS = "tunepipe-serving"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


@pytest.fixture
def k8s():
    with FakeKubernetes() as fake:
        yield fake


def test_apply_creates_every_object_through_the_kubernetes_client(cfg, k8s):
    summary = deploy(cfg, f"{MODEL}@candidate", apply=True, api=k8s.api_client())
    name = f"{MODEL}-staging"
    assert summary["applied"] == [f"configmap/{name}-trtllm created", f"deployment/{name} created",
                                  f"service/{name} created", f"poddisruptionbudget/{name} created"]
    assert [(m, p) for m, p, _ in k8s.requests] == [
        ("POST", f"/api/v1/namespaces/{NS}/configmaps"), ("POST", DEPLOYMENTS),
        ("POST", f"/api/v1/namespaces/{NS}/services"),
        ("POST", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets")]
    stored = k8s.get(f"{DEPLOYMENTS}/{name}")
    assert stored["spec"]["template"]["spec"]["initContainers"][0]["command"][4] == f"models:/{MODEL}/2"


def test_applying_again_patches_what_exists(cfg, k8s):
    deploy(cfg, f"{MODEL}@candidate", apply=True, api=k8s.api_client())
    again = deploy(cfg, f"{MODEL}/1", apply=True, stage="staging", api=k8s.api_client())
    assert all(line.endswith(" configured") for line in again["applied"])
    patches = [(p, ctype) for m, p, ctype in k8s.requests if m == "PATCH"]
    assert (f"{DEPLOYMENTS}/{MODEL}-staging", "application/strategic-merge-patch+json") in patches
    pod = k8s.get(f"{DEPLOYMENTS}/{MODEL}-staging")["spec"]["template"]
    assert pod["metadata"]["labels"]["tunepipe/version"] == "1"


def test_roll_production_moves_the_production_deployment_to_a_version(cfg, k8s):
    first = roll_production(cfg, MODEL, "2", api=k8s.api_client())
    second = roll_production(cfg, MODEL, "3", api=k8s.api_client())
    assert first["stage"] == second["stage"] == "production" and second["version"] == "3"
    deployment = k8s.get(f"{DEPLOYMENTS}/{MODEL}-production")
    assert deployment["spec"]["template"]["spec"]["initContainers"][0]["command"][4] == f"models:/{MODEL}/3"
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert k8s.get(f"{DEPLOYMENTS}/{MODEL}-staging") is None


def test_kserve_objects_go_through_the_custom_objects_api(make_cfg, k8s):
    cfg = make_cfg(serving={"kserve": True})
    summary = deploy(cfg, f"{MODEL}@candidate", apply=True, api=k8s.api_client())
    assert summary["applied"][1:] == [f"servingruntime/{MODEL}-staging created",
                                      f"inferenceservice/{MODEL}-staging created"]
    isvc = k8s.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{NS}/inferenceservices/{MODEL}-staging")
    assert isvc["spec"]["predictor"]["model"]["runtime"] == f"{MODEL}-staging"


def test_a_refusal_from_the_api_server_is_one_clear_error(cfg):
    with FakeKubernetes(fail={DEPLOYMENTS: 403}) as k8s:
        with pytest.raises(TunepipeError, match="Deployment support-bot-staging: the API server said 403"):
            deploy(cfg, f"{MODEL}@candidate", apply=True, api=k8s.api_client())


def test_the_staging_component_applies_the_registered_candidate(cfg, k8s, monkeypatch):
    from tunepipe.components.deploy import deploy_staging_op

    monkeypatch.setattr(deploy_apply, "api_client", k8s.api_client)
    summary = json.loads(deploy_staging_op.python_func(config=cfg.to_json(), parent_run_id="",
                                                       model_uri=f"models:/{MODEL}@candidate"))
    assert (summary["stage"], summary["version"]) == ("staging", "2")
    assert k8s.get(f"{DEPLOYMENTS}/{MODEL}-staging") is not None
