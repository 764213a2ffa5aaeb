"""Ways around the approval gate, each tried for real and refused.

Changed data (a file edited, a row added) after approval, a changed redaction policy, the launcher
approving their own run, a status tag edited in the MLflow UI, a rejection after an approval, demo
mode under four eyes, and the pipeline wiring that puts the split and training behind the gate. The
real stages run where it is cheap: the review report, the gate, Spark's `split_dataset` (which
recomputes the digest) and the training input check (`training.contract.check_inputs`).
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from tunepipe import artifacts, tracking
from tunepipe.data_quality.split import split_dataset
from tunepipe.digest import pandas_digest
from tunepipe.errors import TunepipeError
from tunepipe.governance import approval
from tunepipe.review.report import write_review_report
from tunepipe.training.contract import check_inputs

LAUNCHER, REVIEWER = "bob", "alice"


def with_approval(cfg, **values):
    return cfg.model_copy(update={"approval": cfg.approval.model_copy(update=values)})


def with_pii_actions(cfg, **actions):
    return cfg.model_copy(update={"pii": cfg.pii.model_copy(update={"actions": actions})})


@pytest.fixture(scope="module")
def cfg(mlflow_cfg):
    """The run's config: four eyes on, launched by bob, stop at the gate."""
    return with_approval(mlflow_cfg, four_eyes=True, launched_by=LAUNCHER, mode="stop")


@pytest.fixture
def as_user(monkeypatch):
    return lambda name: monkeypatch.setenv("USER", name)


@pytest.fixture
def redacted(tmp_path, record, write_records, cfg):
    """make(name, n, policy): a redacted dataset as the PII stage leaves it (rows + summary with digest)."""
    def make(name: str, n: int = 24, policy: str | None = None):
        rows = [record(i, f"[{name}] question {i} from <PERSON>", f"answer {i} for <EMAIL_ADDRESS>") for i in range(n)]
        data = write_records(tmp_path / name, rows)
        digest = pandas_digest(artifacts.read_parquet_dir(data))
        artifacts.write_summary(data, {"rows": n, "digest": digest,
                                       "policy_version": policy or approval.policy_version(cfg)})
        return data, digest

    return make


def review_and_approve(cfg, data, tmp_path, as_user) -> str:
    report = write_review_report(cfg, data, tmp_path / "review.html", tmp_path / "review.md", {})
    as_user(REVIEWER)
    approval.approve(cfg, report["digest"], REVIEWER, "read the report")
    return report["digest"]


def split(cfg, data, tmp_path, digest) -> str:
    dirs = [str(tmp_path / "splits" / s) for s in ("train", "validation", "test")]
    split_dataset(cfg, str(data), *dirs, digest)
    return dirs[0]


def test_unchanged_data_passes_at_once_and_trains_without_a_new_approval(cfg, redacted, tmp_path, as_user, spark):
    data, digest = redacted("unchanged")
    assert review_and_approve(cfg, data, tmp_path, as_user) == digest
    for _ in range(2):
        assert approval.gate(cfg, digest)["via"] == "existing approval"
    train_dir = split(cfg, data, tmp_path, digest)
    check_inputs(cfg, train_dir, digest)
    run_id = approval.approval_status(cfg, digest)["review_run_id"]
    assert len(MlflowClient(tracking_uri=tracking.tracking_uri(cfg)).list_artifacts(run_id, "decisions")) == 1


def _edit_one_response(data) -> None:
    import pyarrow.parquet as pq

    part = next(data.glob("*.parquet"))
    table = pq.read_table(part)
    rows = table.to_pylist()
    rows[3]["response"] = "answer 3 with an unredacted phone number 212 555 0143"
    pq.write_table(table.from_pylist(rows, schema=table.schema), part)


def _add_one_row(data, record, write_records) -> None:
    extra = write_records(data.parent / f"{data.name}-extra", [record(999, "one more question", "one more answer")])
    shutil.move(extra / "part-00000.parquet", data / "part-00001.parquet")


@pytest.mark.parametrize("change", ["file edited", "row added"])
def test_data_changed_after_approval_is_refused_by_split_and_training(
        cfg, redacted, tmp_path, as_user, spark, record, write_records, change):
    data, digest = redacted(change.replace(" ", "-"))
    review_and_approve(cfg, data, tmp_path, as_user)
    _edit_one_response(data) if change == "file edited" else _add_one_row(data, record, write_records)

    actual = pandas_digest(artifacts.read_parquet_dir(data))
    assert actual != digest and artifacts.read_summary(data)["digest"] == digest
    again = write_review_report(cfg, data, tmp_path / "again.html", tmp_path / "again.md", {})
    assert again["digest"] == actual and again["status"] == "pending", "the review shows the rows as they are now"
    assert actual in (tmp_path / "again.html").read_text() and digest not in (tmp_path / "again.md").read_text()
    assert approval.gate(cfg, digest)["status"] == "approved"
    with pytest.raises(TunepipeError, match="the dataset changed after approval"):
        split(cfg, data, tmp_path, digest)
    with pytest.raises(TunepipeError, match="awaiting approval"):
        approval.gate(cfg, actual)
    with pytest.raises(TunepipeError, match=f"dataset {actual} is not approved"):
        check_inputs(cfg, str(data), actual)


def test_a_policy_change_after_approval_needs_a_new_review(cfg, redacted, tmp_path, as_user):
    data, digest = redacted("policy-change")
    review_and_approve(cfg, data, tmp_path, as_user)
    old = approval.policy_version(cfg)
    changed = with_pii_actions(cfg, PERSON="mask")
    new = approval.policy_version(changed)
    message = f"approved by alice under policy {old}, but the current policy is {new}"
    with pytest.raises(TunepipeError, match=f"{message}.*awaiting approval"):
        approval.gate(changed, digest)
    with pytest.raises(TunepipeError, match=message):
        check_inputs(changed, str(data), digest)
    with pytest.raises(TunepipeError, match="timed out"):
        approval.gate(with_approval(changed, mode="wait", timeout_s=0), digest)

    artifacts.write_summary(data, {**artifacts.read_summary(data), "policy_version": new})
    write_review_report(changed, data, tmp_path / "again.html", tmp_path / "again.md", {})
    assert "needs a new approval" in (tmp_path / "again.md").read_text()
    approval.approve(changed, digest, REVIEWER, "re-reviewed under the new policy")
    assert approval.gate(changed, digest)["policy_version"] == new
    with pytest.raises(TunepipeError, match=f"under policy {new}, but the current policy is {old}"):
        approval.require_approved(cfg, digest)


def _cli_config(tmp_path, cfg) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data": {"paths": ["x"]}, "project": {"data_dir": cfg.project.data_dir},
                                    "approval": {"four_eyes": True, "launched_by": LAUNCHER}}))
    return str(path)


def test_the_launcher_cannot_approve_their_own_run_through_the_cli(cfg, redacted, tmp_path, as_user, monkeypatch):
    from tunepipe.cli import app

    data, digest = redacted("self-approval")
    write_review_report(cfg, data, tmp_path / "r.html", tmp_path / "r.md", {})
    runner, config = CliRunner(), _cli_config(tmp_path, cfg)
    as_user("carol")
    attempts = [
        ["approve", digest, "--reviewer", LAUNCHER, "--config", config],
        ["approve", digest, "--reviewer", "Bob"],
    ]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking.tracking_uri(cfg))
    monkeypatch.chdir(tmp_path)
    for args in attempts:
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and "four-eyes rule" in result.output and "Traceback" not in result.output
    as_user(LAUNCHER)
    result = runner.invoke(app, ["approve", digest, "--reviewer", REVIEWER, "--config", config])
    assert result.exit_code == 1 and "you are logged in as bob" in result.output
    with pytest.raises(TunepipeError, match="awaiting approval"):
        approval.gate(cfg, digest)
    as_user(REVIEWER)
    result = runner.invoke(app, ["approve", digest, "--reviewer", REVIEWER, "--config", config])
    assert result.exit_code == 0, result.output
    assert approval.gate(cfg, digest)["reviewer"] == REVIEWER


def test_a_self_approval_made_before_four_eyes_was_switched_on_does_not_count(cfg, redacted, tmp_path, as_user):
    relaxed = with_approval(cfg, four_eyes=False)
    data, digest = redacted("before-four-eyes")
    write_review_report(relaxed, data, tmp_path / "r.html", tmp_path / "r.md", {})
    as_user(LAUNCHER)
    approval.approve(relaxed, digest, LAUNCHER, "my own data")
    assert approval.require_approved(relaxed, digest)["reviewer"] == LAUNCHER
    with pytest.raises(TunepipeError, match="approved by bob, who launched the run; approval.four_eyes"):
        approval.gate(cfg, digest)
    with pytest.raises(TunepipeError, match="four_eyes needs another reviewer"):
        check_inputs(cfg, str(data), digest)


def test_demo_mode_cannot_stand_in_for_four_eyes(cfg, redacted):
    _, digest = redacted("demo-four-eyes")
    with pytest.raises(TunepipeError, match="awaiting approval \\(approval.mode=demo cannot approve under"):
        approval.gate(with_approval(cfg, mode="demo"), digest)
    assert approval.approval_status(cfg, digest) is None


@pytest.mark.parametrize("before", ["pending", "rejected"])
def test_a_status_tag_edited_in_mlflow_is_not_an_approval(cfg, redacted, tmp_path, as_user, before):
    data, digest = redacted(f"tag-edit-{before}")
    report = write_review_report(cfg, data, tmp_path / "r.html", tmp_path / "r.md", {})
    if before == "rejected":
        approval.reject(cfg, digest, "frank", "customer secrets")
    client = MlflowClient(tracking_uri=tracking.tracking_uri(cfg))
    client.set_tag(report["review_run_id"], approval.STATUS_TAG, "approved")
    client.set_tag(report["review_run_id"], approval.REVIEWER_TAG, REVIEWER)
    client.set_tag(report["review_run_id"], approval.DECISION_POLICY_TAG, approval.policy_version(cfg))
    for attempt in (lambda: approval.gate(cfg, digest), lambda: check_inputs(cfg, str(data), digest)):
        with pytest.raises(TunepipeError, match="tags were edited outside tunepipe"):
            attempt()


def test_a_rejection_after_an_approval_ends_the_next_run(cfg, redacted, tmp_path, as_user):
    data, digest = redacted("rejected-later")
    review_and_approve(cfg, data, tmp_path, as_user)
    assert approval.gate(cfg, digest)["status"] == "approved"
    approval.reject(cfg, digest, "frank", "found an unredacted name")
    for mode in ("stop", "wait", "demo"):
        with pytest.raises(TunepipeError, match="rejected by frank .*found an unredacted name"):
            approval.gate(with_approval(cfg, mode=mode, timeout_s=0), digest)
    with pytest.raises(TunepipeError, match="rejected by frank"):
        check_inputs(cfg, str(data), digest)


def test_the_pipeline_splits_and_trains_only_the_approved_digest_after_the_gate(tmp_path):
    from tunepipe.config import load_config
    from tunepipe.pipelines.compile import compile_pipeline

    path = compile_pipeline(load_config("examples/demo.yaml"), tmp_path / "pipeline.yaml")
    spec = next(yaml.safe_load_all(path.read_text()))
    root = spec["root"]["dag"]["tasks"]
    changed = next(name for name, task in root.items() if name.startswith("condition")
                   and "change-op" in task["triggerPolicy"]["condition"])
    tasks = spec["components"][f"comp-{changed}"]["dag"]["tasks"]
    assert "split-op" not in root and "finetune-op" not in root, "training sits behind the change decision"
    assert "approval-gate-op" in tasks["split-op"]["dependentTasks"]
    assert "split-op" in tasks["finetune-op"]["dependentTasks"]
    assert not tasks["approval-gate-op"].get("cachingOptions", {}).get("enableCache", False)
    for name in ("approval-gate-op", "split-op", "finetune-op"):
        params = tasks[name]["inputs"]["parameters"]
        source = params.get("approved_digest") or params["digest"]
        assert source == {"componentInputParameter": "pipelinechannel--review-op-digest"}, source
    assert root[changed]["inputs"]["parameters"]["pipelinechannel--review-op-digest"]["taskOutputParameter"] == {
        "outputParameterKey": "digest", "producerTask": "review-op"}
