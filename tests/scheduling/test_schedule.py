"""`tunepipe schedule` against the fake Kubeflow Pipelines API server on 127.0.0.1: the payload, by-name
pause/resume/delete, and the one-line errors (bad cron, name in use, endpoint down)."""

import pytest
from typer.testing import CliRunner

from tests.pipelines.fake_kfp import FakeKfp
from tunepipe.cli import app
from tunepipe.config import load_config
from tunepipe.errors import TunepipeError
from tunepipe.scheduling.recurring import create_schedule, list_schedules


@pytest.fixture(scope="module")
def cfg():
    return load_config("examples/demo.yaml", ["training.max_steps=7"])


def test_create_sends_cron_utc_one_at_a_time_no_catchup_and_the_compiled_pipeline(cfg):
    with FakeKfp() as kfp_api:
        result = create_schedule(cfg, kfp_api.url, "0 0 3 * * 1", "weekly", "support-bot")
    job = kfp_api.recurring[result["id"]]
    assert job["display_name"] == "weekly" and "UTC" in job["description"]
    assert job["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 1"}}
    assert str(job["max_concurrency"]) == "1"
    assert job["no_catchup"] is True and job["mode"] == "ENABLE"
    assert kfp_api.experiments[job["experiment_id"]]["display_name"] == "support-bot"
    spec = job["pipeline_spec"]["pipeline_spec"]
    assert spec["pipelineInfo"]["name"] == "tunepipe"
    assert spec["root"]["inputDefinitions"]["parameters"]["max_steps"]["defaultValue"] == 7
    assert all(t.endswith("+00:00") for t in result["next_utc"])
    assert result["next_utc"][0][11:19] == "03:00:00"


def test_pause_resume_delete_by_name(cfg):
    runner = CliRunner()
    with FakeKfp() as kfp_api:
        create_schedule(cfg, kfp_api.url, "0 30 2 * * *", "nightly")
        create_schedule(cfg, kfp_api.url, "0 0 3 * * 1", "weekly")
        out = runner.invoke(app, ["schedule", "pause", "nightly", "--host", kfp_api.url])
        assert out.exit_code == 0 and "now DISABLED" in out.output, out.output
        states = {s["name"]: s["status"] for s in list_schedules(kfp_api.url)}
        assert states == {"nightly": "DISABLED", "weekly": "ENABLED"}
        out = runner.invoke(app, ["schedule", "resume", "nightly", "--host", kfp_api.url])
        assert out.exit_code == 0 and "now ENABLED" in out.output, out.output
        listed = runner.invoke(app, ["schedule", "list", "--host", kfp_api.url])
        assert "nightly" in listed.output and "0 30 2 * * *" in listed.output
        out = runner.invoke(app, ["schedule", "delete", "weekly", "--host", kfp_api.url])
        assert out.exit_code == 0 and "deleted" in out.output
        assert [j["display_name"] for j in kfp_api.recurring.values()] == ["nightly"]
        missing = runner.invoke(app, ["schedule", "pause", "weekly", "--host", kfp_api.url])
    assert missing.exit_code == 1 and "no schedule named 'weekly'" in missing.output


def test_cli_create_says_utc_and_the_next_times():
    with FakeKfp() as kfp_api:
        out = CliRunner().invoke(app, ["schedule", "create", "examples/demo.yaml", "--cron", "0 0 3 * * 1",
                                       "--host", kfp_api.url, "--name", "weekly"])
    assert out.exit_code == 0, out.output
    assert "(UTC)" in out.output and "max_concurrency 1" in out.output and "next runs (UTC)" in out.output


@pytest.mark.parametrize("cron, why", [("0 3 * * 1", "has 5 fields"), ("0 61 3 * * 1", "is not valid"),
                                       ("every monday", "has 2 fields")])
def test_bad_cron_is_one_line_before_any_request(cfg, cron, why):
    with FakeKfp() as kfp_api:
        with pytest.raises(TunepipeError, match=why) as err:
            create_schedule(cfg, kfp_api.url, cron)
    assert "\n" not in str(err.value) and "seconds first, in UTC" in str(err.value)
    assert kfp_api.requests == []


def test_a_name_in_use_is_refused(cfg):
    with FakeKfp() as kfp_api:
        create_schedule(cfg, kfp_api.url, "0 0 3 * * 1", "weekly")
        out = CliRunner().invoke(app, ["schedule", "create", "examples/demo.yaml", "--cron", "0 0 4 * * 1",
                                       "--host", kfp_api.url, "--name", "weekly"])
    assert out.exit_code == 1 and "already exists" in out.output
    assert len(out.output.strip().splitlines()) == 1 and len(kfp_api.recurring) == 1


def test_endpoint_down_is_one_line():
    out = CliRunner().invoke(app, ["schedule", "list", "--host", "http://127.0.0.1:9"])
    assert out.exit_code == 1 and "cannot reach Kubeflow Pipelines at http://127.0.0.1:9" in out.output
