"""`tunepipe deploy`: one registered version onto the GPU pool as a trtllm-serve endpoint.

    deploy(cfg, "NAME@ALIAS") -> resolve the alias to a version -> size (config or serving plan)
        -> render the objects -> write them (and trtllm.yaml) to --out -> with apply=True, apply them

Objects pin the version (`models:/NAME/VERSION`), never the alias, so a pod that restarts after the
alias moved still serves what was deployed; moving production is a new deploy (tunepipe.deploy.rollout).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.deploy import manifests, trtllm
from tunepipe.errors import TunepipeError

PRODUCTION_ALIAS = "champion"
STAGES = ("staging", "production")


KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                 "resources": ["manifests.yaml"]}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """`NAME@ALIAS`, `NAME/VERSION` (either with a models:/ prefix) -> (name, alias, version)."""
    body = ref.removeprefix("models:/")
    if "@" in body:
        name, alias = body.split("@", 1)
        if name and alias:
            return name, alias, None
    elif "/" in body and body.rsplit("/", 1)[1].isdigit():
        name, version = body.rsplit("/", 1)
        return name, None, version
    raise TunepipeError(f"{ref!r} is not a registered version: use NAME@ALIAS (e.g. tunepipe-model@candidate) "
                        "or NAME/VERSION")


def resolve_version(cfg: Config, ref: str) -> tuple[str, str, str | None]:
    """(name, version, alias) of `ref` in the project's registry."""
    name, alias, version = parse_ref(ref)
    client = tracking.client(cfg)
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except Exception as err:
        raise TunepipeError(f"{ref} is not in the registry at {tracking.tracking_uri(cfg)}: {str(err)[:200]}. "
                            "Check the name and alias with the MLflow UI") from None
    return mv.name, str(mv.version), alias


def default_stage(alias: str | None) -> str:
    return "production" if alias == PRODUCTION_ALIAS else "staging"


def write(objects: list[dict], cfg: Config, out: Path) -> list[str]:
    """manifests.yaml (every object), trtllm.yaml (for running trtllm-serve by hand) and a kustomization."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifests.yaml").write_text(yaml.dump_all(objects, Dumper=_NoAliases, sort_keys=False))
    (out / "trtllm.yaml").write_text(trtllm.config_yaml(cfg))
    (out / "kustomization.yaml").write_text(yaml.safe_dump(KUSTOMIZATION, sort_keys=False))
    return [str(out / name) for name in ("manifests.yaml", "trtllm.yaml", "kustomization.yaml")]


def deploy(cfg: Config, ref: str, namespace: str | None = None, out: str | Path | None = None, apply: bool = False,
           stage: str | None = None, api=None) -> dict:
    """Render (and apply) what serves `ref`; a summary of the version, sizes, objects and files."""
    if stage not in (None, *STAGES):
        raise TunepipeError(f"--stage must be one of {', '.join(STAGES)}, got {stage!r}")
    name, version, alias = resolve_version(cfg, ref)
    stage = stage or default_stage(alias)
    size = trtllm.sizes(cfg)
    objects = manifests.render(cfg, name, version, stage, namespace, size)
    files = write(objects, cfg, Path(out)) if out else []
    applied = []
    if apply:
        from tunepipe.deploy.apply import apply_all

        applied = apply_all(objects, api)
    return {"model": name, "version": version, "alias": alias, "stage": stage,
            "namespace": objects[0]["metadata"]["namespace"], "name": manifests.k8s_name(name, stage),
            "tensor_parallel": size.tp, "pipeline_parallel": size.pp, "max_batch_size": size.max_batch_size,
            "gpus_per_replica": size.gpus, "sizes_from": size.source, "kserve": cfg.serving.kserve,
            "adapters": [a.name for a in cfg.serving.trtllm.adapters],
            "objects": [f"{o['kind']}/{o['metadata']['name']}" for o in objects], "files": files, "applied": applied}
