"""Apply rendered objects through the Kubernetes API: create each, or patch it when it already exists.

The typed clients of the `kubernetes` package for core kinds, CustomObjectsApi for KServe's; the
same code talks to a cluster (in-cluster service account or kubeconfig) or, in tests, to a fake API
server on 127.0.0.1.
"""

from __future__ import annotations

from tunepipe.errors import TunepipeError

CONFLICT = 409
CORE = {"ConfigMap": ("CoreV1Api", "config_map"), "Service": ("CoreV1Api", "service"),
        "Deployment": ("AppsV1Api", "deployment"), "PodDisruptionBudget": ("PolicyV1Api", "pod_disruption_budget")}
CUSTOM = {"ServingRuntime": "servingruntimes", "InferenceService": "inferenceservices"}


def api_client():
    """An ApiClient for the cluster this runs in, else the local kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, FileNotFoundError, TypeError) as err:
            raise TunepipeError(f"no Kubernetes cluster to apply to ({err}): run in a pod, or set KUBECONFIG") from None
    return client.ApiClient()


def _typed(api, kind: str, obj: dict):
    from kubernetes import client

    cls, noun = CORE[kind]
    typed = getattr(client, cls)(api)
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    return (lambda: getattr(typed, f"create_namespaced_{noun}")(ns, obj),
            lambda: getattr(typed, f"patch_namespaced_{noun}")(name, ns, obj))


def _custom(api, kind: str, obj: dict):
    from kubernetes import client

    custom = client.CustomObjectsApi(api)
    group, version = obj["apiVersion"].split("/")
    ns, name, plural = obj["metadata"]["namespace"], obj["metadata"]["name"], CUSTOM[kind]
    return (lambda: custom.create_namespaced_custom_object(group, version, ns, plural, obj),
            lambda: custom.patch_namespaced_custom_object(group, version, ns, plural, name, obj))


def apply_one(api, obj: dict) -> str:
    """'created' or 'configured', as kubectl says."""
    from kubernetes.client.exceptions import ApiException

    kind = obj["kind"]
    if kind not in CORE and kind not in CUSTOM:
        raise TunepipeError(f"cannot apply kind {kind}: tunepipe applies {', '.join([*CORE, *CUSTOM])}")
    create, patch = (_typed if kind in CORE else _custom)(api, kind, obj)
    try:
        create()
        return "created"
    except ApiException as err:
        if err.status != CONFLICT:
            raise TunepipeError(f"{kind} {obj['metadata']['name']}: the API server said {err.status} "
                                f"{err.reason}: {str(err.body)[:300]}") from None
    patch()
    return "configured"


def apply_all(objects: list[dict], api=None) -> list[str]:
    """Apply in order; one line per object, e.g. 'deployment/m-staging created'."""
    api = api or api_client()
    return [f"{o['kind'].lower()}/{o['metadata']['name']} {apply_one(api, o)}" for o in objects]
