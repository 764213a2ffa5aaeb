"""`tunepipe submit` against a fake Kubeflow Pipelines API server on 127.0.0.1."""

import pytest
from typer.testing import CliRunner

from tests.pipelines.fake_kfp import FakeKfp
from tunepipe.cli import app
from tunepipe.config import load_config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.submit import submit_run


def test_submit_creates_experiment_and_run_with_the_compiled_spec():
    cfg = load_config("examples/demo.yaml", ["training.max_steps=7"])
    with FakeKfp() as kfp_api:
        result = submit_run(cfg, kfp_api.url, "support-bot", "nightly")
    assert result["run_id"] == kfp_api.runs[0]["run_id"]
    run = kfp_api.runs[0]
    assert run["display_name"] == "nightly"
    assert run["experiment_id"] == next(iter(kfp_api.experiments))
    assert kfp_api.experiments[run["experiment_id"]]["display_name"] == "support-bot"
    spec, platform = run["pipeline_spec"]["pipeline_spec"], run["pipeline_spec"]["platform_spec"]
    assert spec["pipelineInfo"]["name"] == "tunepipe"
    assert "exec-finetune-op" in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert spec["root"]["inputDefinitions"]["parameters"]["max_steps"]["defaultValue"] == 7


def test_submit_reuses_an_existing_experiment():
    cfg = load_config("examples/demo.yaml")
    with FakeKfp() as kfp_api:
        submit_run(cfg, kfp_api.url, "support-bot")
        submit_run(cfg, kfp_api.url, "support-bot")
    assert len(kfp_api.experiments) == 1 and len(kfp_api.runs) == 2


def test_submit_to_unreachable_host_is_a_short_error():
    cfg = load_config("examples/demo.yaml")
    with pytest.raises(TunepipeError, match="cannot reach Kubeflow Pipelines at http://127.0.0.1:9"):
        submit_run(cfg, "http://127.0.0.1:9", "x")


def test_cli_submit_prints_the_run():
    with FakeKfp() as kfp_api:
        result = CliRunner().invoke(app, ["submit", "examples/demo.yaml", "--host", kfp_api.url,
                                          "--experiment", "cli-exp"])
    assert result.exit_code == 0, result.output
    assert kfp_api.runs[0]["run_id"] in result.output
