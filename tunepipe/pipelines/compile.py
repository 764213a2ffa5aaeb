"""Compile the pipeline to KFP IR YAML for a cluster: parameter defaults and image from config."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from tunepipe.components.image import IMAGE
from tunepipe.config import Config
from tunepipe.pipelines.knobs import knob_defaults
from tunepipe.pipelines.pipeline import build_pipeline

log = logging.getLogger(__name__)


def pipeline_arguments(cfg: Config) -> dict:
    return {"config_json": cfg.to_json(), **knob_defaults(cfg)}


def _set_image(docs: list[dict], image: str) -> None:
    """Steps built on the project image get cluster.image; others (the NeMo image) keep theirs."""
    for executor in docs[0].get("deploymentSpec", {}).get("executors", {}).values():
        if executor.get("container", {}).get("image") == IMAGE:
            executor["container"]["image"] = image


def compile_pipeline(cfg: Config, out_path: str | Path) -> Path:
    """Write the IR YAML; every step runs in cfg.cluster.image, the training step on the GPU pool."""
    from kfp import compiler

    if not cfg.mlflow.tracking_uri:
        log.warning("mlflow.tracking_uri is not set: pods on a cluster would each get their own "
                    "SQLite store. Set it to your MLflow server for cluster runs.")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(cfg), str(out_path), pipeline_parameters=pipeline_arguments(cfg))
    docs = list(yaml.safe_load_all(out_path.read_text()))
    _set_image(docs, cfg.cluster.image)
    out_path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out_path
