"""The CLI as a user meets it: short errors with exit code 1, approvals, compile."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from tunepipe.cli import app

runner = CliRunner()


def _config(tmp_path, **sections) -> str:
    cfg = yaml.safe_load(open("examples/demo.yaml"))
    cfg["project"]["data_dir"] = str(tmp_path / ".tunepipe")
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _fails_with(result, *fragments):
    assert result.exit_code == 1, result.output
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    for fragment in fragments:
        assert fragment in text, text
    assert "Traceback" not in text


def test_run_with_missing_data_file_is_a_short_error(tmp_path):
    result = runner.invoke(app, ["run", _config(tmp_path, data={"paths": [str(tmp_path / "nope.jsonl")]})])
    _fails_with(result, "does not exist", "nope.jsonl")
    assert not (tmp_path / ".tunepipe" / "pipeline_root").exists()


def test_run_with_unreachable_mlflow_server_is_a_short_error(tmp_path):
    result = runner.invoke(app, ["run", _config(tmp_path, mlflow={"tracking_uri": "http://127.0.0.1:9"})])
    _fails_with(result, "MLflow tracking server http://127.0.0.1:9 is unreachable")


@pytest.mark.parametrize("args, fragment", [
    (["run", "missing.yaml"], "config file missing.yaml not found"),
    (["run", "examples/demo.yaml", "--set", "training.max_steps=-3"], "training.max_steps"),
    (["run", "examples/demo.yaml", "--set", "trainng.max_steps=3"], "trainng: unknown key"),
    (["compile", "examples/demo.yaml", "--set", "cluster.training.count=0"], "cluster.training.count"),
])
def test_bad_config_is_a_short_error(args, fragment):
    _fails_with(runner.invoke(app, args), fragment)


def test_compile_writes_ir(tmp_path):
    out = tmp_path / "p.yaml"
    result = runner.invoke(app, ["compile", "examples/demo.yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load_all(out.read_text()).__next__()["pipelineInfo"]["name"] == "tunepipe"


def test_approve_reject_and_review_through_the_cli(tmp_path):
    config = _config(tmp_path)
    digest = "ab" * 32
    result = runner.invoke(app, ["approve", digest, "--reviewer", "alice", "--note", "looks fine",
                                 "--config", config])
    assert result.exit_code == 0, result.output
    assert f"approved {digest} by alice" in result.output
    listed = runner.invoke(app, ["review", "list", "--config", config])
    assert "abababababab" in listed.output and "approved" in listed.output
    shown = runner.invoke(app, ["review", "show", digest[:12], "--json", "--config", config])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output[: shown.output.rindex("}") + 1])["reviewer"] == "alice"
    summary = runner.invoke(app, ["review", "show", digest[:12], "--config", config])
    assert "APPROVED by alice" in summary.output and "has not run for this digest" in summary.output
    rejected = runner.invoke(app, ["reject", digest, "--reviewer", "bob", "--reason", "contains secrets",
                                   "--config", config])
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    audit = runner.invoke(app, ["review", "audit", "--config", config])
    assert audit.exit_code == 0 and "audit log intact: 2 entries" in audit.output, audit.output


def test_approve_needs_a_reviewer_and_a_known_digest(tmp_path):
    config = _config(tmp_path)
    _fails_with(runner.invoke(app, ["approve", "ab" * 32, "--reviewer", " ", "--config", config]), "reviewer")
    _fails_with(runner.invoke(app, ["review", "show", "cdcdcdcdcdcd", "--config", config]), "cdcdcdcdcdcd")
