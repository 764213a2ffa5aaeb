"""tunepipe.components.registry through python_func: register the trained model, then serve and ask it."""

from __future__ import annotations

import json

from tests.components.test_training import trained  # noqa: F401  (the session fixture)


def test_register_then_smoke_serve_the_registered_version(trained, chain, project, parent_run):  # noqa: F811
    from tunepipe import tracking
    from tunepipe.components.registry import register_op, serve_smoke_op

    _, cfg = project
    summary, model = trained
    eval_summary = {"metrics": {"candidate": {"rouge_l": 0.2}, "base": {"rouge_l": 0.1}}, "rows": 4}
    out = register_op.python_func(config=cfg.to_json(), parent_run_id=parent_run,
                                  approval=json.dumps(chain["gate"][0]), train_summary=json.dumps(summary),
                                  eval_summary=json.dumps(eval_summary), git_commit="abc123", model=model)
    assert out.model_uri == f"models:/{cfg.registry.model_name}@candidate"
    version = tracking.client(cfg).get_model_version_by_alias(cfg.registry.model_name, "candidate")
    assert version.tags["tunepipe.dataset_digest"] == chain["review"][1]["digest"]
    smoke = json.loads(serve_smoke_op.python_func(config=cfg.to_json(), parent_run_id=parent_run,
                                                  model_uri=out.model_uri))
    assert smoke["completion_tokens"] > 0 and smoke["model"] == cfg.registry.model_name
