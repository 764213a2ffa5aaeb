"""tunepipe.components.setup through python_func: the run's parameters reach the config."""

from __future__ import annotations

import json

import pytest

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.knobs import knob_defaults


def test_setup_applies_the_knobs_and_opens_the_parent_run(project):
    from tunepipe import tracking
    from tunepipe.components.setup import setup_op

    _, cfg = project
    knobs = {k: str(v) for k, v in knob_defaults(cfg).items()} | {"max_steps": "7.0", "approval_mode": "wait"}
    out = setup_op.python_func(config_json=cfg.to_json(), mlflow_parent_run_id="", pipeline_job="job-1", knobs=knobs)
    applied = Config.from_json(out.config)
    assert applied.training.max_steps == 7 and applied.approval.mode == "wait"
    run = tracking.client(cfg).get_run(out.parent_run_id)
    assert run.data.params["max_steps"] == "7.0" and run.info.run_name.endswith("job-1")


def test_setup_names_a_bad_parameter(project):
    from tunepipe.components.setup import setup_op

    _, cfg = project
    knobs = {k: str(v) for k, v in knob_defaults(cfg).items()} | {"max_steps": "-3"}
    with pytest.raises(TunepipeError, match="training.max_steps"):
        setup_op.python_func(config_json=cfg.to_json(), mlflow_parent_run_id="x", pipeline_job="j", knobs=knobs)
    assert json.loads(cfg.to_json())["training"]["max_steps"] == 2
