"""The change decision against a real MLflow store: an approved digest with a version trained on it with
this config is "no change"; new data (more, fewer or edited rows) or a new config goes to the gate."""

import json

from mlflow.tracking import MlflowClient

from tunepipe import tracking
from tunepipe.components.scheduling import change_op, fingerprint_op
from tunepipe.config import Config, config_digest
from tunepipe.governance.approval import approve, review_run_id
from tunepipe.scheduling.change import CONFIG_TAG, DIGEST_TAG, NO_CHANGE, TRAIN, content_fingerprint, decide
from tunepipe.tracking import start_pipeline_run

DIGEST, OTHER = "ab" * 32, "cd" * 32


def _cfg(tmp_path, **overrides) -> Config:
    return Config.model_validate({"data": {"paths": [str(tmp_path / "x.jsonl")]},
                                  "project": {"name": "bot", "data_dir": str(tmp_path / ".tunepipe")},
                                  "approval": {"mode": "stop"}, "registry": {"model_name": "bot-model"},
                                  **overrides})


def _register(cfg: Config, digest: str, cfg_digest: str) -> str:
    tracking.setup_mlflow(cfg)
    client: MlflowClient = tracking.client(cfg)
    name = cfg.registry.model_name
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    mv = client.create_model_version(name, source=str(cfg.project.data_dir), tags={DIGEST_TAG: digest,
                                                                                     CONFIG_TAG: cfg_digest})
    return str(mv.version)


def _approved(cfg: Config, digest: str) -> None:
    review_run_id(cfg, digest)
    approve(cfg, digest, reviewer="reviewer-alice", note="looked at the card")


def test_approved_digest_with_a_version_trained_on_it_with_this_config_is_no_change(tmp_path):
    cfg = _cfg(tmp_path)
    _approved(cfg, DIGEST)
    _register(cfg, OTHER, config_digest(cfg))
    version = _register(cfg, DIGEST, config_digest(cfg))
    decision = decide(cfg, DIGEST)
    assert decision["status"] == NO_CHANGE and decision["approval"] == "approved"
    assert decision["version"]["version"] == version and decision["version"]["uri"] == f"models:/bot-model/{version}"


def test_a_version_trained_with_another_config_means_train(tmp_path):
    cfg = _cfg(tmp_path)
    _approved(cfg, DIGEST)
    _register(cfg, DIGEST, "0" * 16)
    decision = decide(cfg, DIGEST)
    assert decision["status"] == TRAIN and "no version of bot-model" in decision["reason"]


def test_a_new_digest_is_pending_and_goes_to_the_approval_gate(tmp_path):
    cfg = _cfg(tmp_path)
    _approved(cfg, DIGEST)
    _register(cfg, DIGEST, config_digest(cfg))
    review_run_id(cfg, OTHER)
    decision = decide(cfg, OTHER)
    assert decision["status"] == TRAIN and decision["approval"] == "pending"
    assert "goes to the approval gate" in decision["reason"]


def test_skip_unchanged_off_always_trains(tmp_path):
    cfg = _cfg(tmp_path, schedule={"skip_unchanged": False})
    _approved(cfg, DIGEST)
    _register(cfg, DIGEST, config_digest(cfg))
    assert decide(cfg, DIGEST)["status"] == TRAIN


def test_shrunk_or_edited_rows_change_the_fingerprint(tmp_path):
    data = tmp_path / "x.jsonl"
    rows = [json.dumps({"prompt": f"q{i}", "response": f"a{i}"}) for i in range(5)]
    data.write_text("\n".join(rows) + "\n")
    full = content_fingerprint([str(data)])
    assert content_fingerprint([str(data)]) == full
    data.write_text("\n".join(rows[:4]) + "\n")
    shrunk = content_fingerprint([str(data)])
    data.write_text("\n".join(rows[:4] + [rows[4].replace("a4", "b4")]) + "\n")
    edited = content_fingerprint([str(data)])
    assert len({full, shrunk, edited}) == 3


def test_fingerprint_op_keeps_a_passed_fingerprint_and_computes_one_otherwise(tmp_path):
    cfg = _cfg(tmp_path)
    (tmp_path / "x.jsonl").write_text('{"prompt": "q", "response": "a"}\n')
    assert fingerprint_op.python_func(config=cfg.to_json(), data_fingerprint="given") == "given"
    assert fingerprint_op.python_func(config=cfg.to_json(), data_fingerprint="") == \
        content_fingerprint([str(tmp_path / "x.jsonl")])


def test_change_op_returns_the_decision_status(tmp_path):
    cfg = _cfg(tmp_path)
    _approved(cfg, DIGEST)
    _register(cfg, DIGEST, config_digest(cfg))
    parent = start_pipeline_run(cfg, "change-test", params={})
    assert change_op.python_func(config=cfg.to_json(), parent_run_id=parent, digest=DIGEST) == NO_CHANGE
    review_run_id(cfg, OTHER)
    assert change_op.python_func(config=cfg.to_json(), parent_run_id=parent, digest=OTHER) == TRAIN
