"""Components after the eval gate: MLflow registration with lineage, and the serving smoke test."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Input, Model

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def register_op(
    config: str,
    parent_run_id: str,
    approval: str,
    train_summary: str,
    eval_summary: str,
    git_commit: str,
    model: Input[Model],
) -> NamedTuple("RegisterOutputs", [("model_uri", str), ("summary", str)]):
    """Register the candidate in the MLflow registry with lineage tags and alias."""
    import json
    from collections import namedtuple

    from tunepipe.components.runtime import run_stage
    from tunepipe.registry.lineage import build_lineage
    from tunepipe.registry.register import register_model

    def body(cfg):
        lineage = build_lineage(cfg, json.loads(approval), json.loads(train_summary), parent_run_id, git_commit)
        return register_model(cfg, model.path, json.loads(eval_summary), lineage)

    summary = run_stage(config, "register", body, parent_run_id)
    return namedtuple("RegisterOutputs", ["model_uri", "summary"])(json.loads(summary)["uri"], summary)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def serve_smoke_op(config: str, parent_run_id: str, model_uri: str) -> str:
    """Serve the registered candidate on an OpenAI-compatible endpoint and ask it one question."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.serving.smoke import smoke_test

    return run_stage(config, "serve_smoke", lambda cfg: smoke_test(cfg, model_uri), parent_run_id)
