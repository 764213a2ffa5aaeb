"""Webhook notifications against a local HTTP server: what is sent, when, and that a slow or broken
webhook is logged without its URL and never changes the outcome."""

import logging
import time

import pytest

from tests.scheduling.webhook import Webhook
from tunepipe.config import Config
from tunepipe.governance.approval import review_run_id
from tunepipe.scheduling import notify
from tunepipe.scheduling.change import TRAIN, decide_and_notify

DIGEST = "ab" * 32


def _cfg(tmp_path, **notify_cfg) -> Config:
    return Config.model_validate({"data": {"paths": ["x.jsonl"]}, "project": {"name": "bot", "data_dir": str(tmp_path)},
                                  "approval": {"mode": "stop"}, "notify": notify_cfg})


def test_the_url_comes_from_the_env_var_and_only_configured_events_are_sent(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, events=["failed"])
    assert notify.failed(cfg, "x") is False
    with Webhook() as hook:
        monkeypatch.setenv("TUNEPIPE_WEBHOOK_URL", hook.url)
        assert notify.awaiting_promotion(cfg, {"name": "m", "version": "3"}) is False
        assert notify.failed(cfg, "stage 'finetune' failed: row 7 says 'alice@example.com'", "run123") is True
    assert hook.texts() == ["[tunepipe bot] pipeline run failed in stage 'finetune' (MLflow run run123); "
                            "its log and MLflow run say why"]


def test_candidate_awaiting_promotion_names_the_version_and_the_commands(tmp_path):
    with Webhook() as hook:
        cfg = _cfg(tmp_path, webhook_url=hook.url)
        assert notify.awaiting_promotion(cfg, {"name": "support", "version": "4", "uri": "models:/support@candidate"})
    (text,) = hook.texts()
    assert "candidate support version 4" in text and "tunepipe promote support 4" in text


def test_a_pending_digest_is_announced_awaiting_approval_by_the_change_step(tmp_path):
    with Webhook() as hook:
        cfg = _cfg(tmp_path, webhook_url=hook.url)
        review_run_id(cfg, DIGEST)
        decision = decide_and_notify(cfg, DIGEST)
    assert decision["status"] == TRAIN and decision["approval"] == "pending"
    (text,) = hook.texts()
    assert f"dataset {DIGEST} is awaiting approval (the run stopped)" in text
    assert f"tunepipe approve {DIGEST}" in text


def test_a_webhook_that_times_out_is_logged_without_its_url(tmp_path, caplog):
    with Webhook(delay_s=3) as hook:
        cfg = _cfg(tmp_path, webhook_url=hook.url, timeout_s=0.5)
        start = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="tunepipe.scheduling.notify"):
            assert notify.failed(cfg, "boom") is False
        assert time.perf_counter() - start < 2.5
    assert len(hook.messages) == 1
    assert "not delivered (ReadTimeout)" in caplog.text and "s3cr3t" not in caplog.text


@pytest.mark.parametrize("status", [500, 404])
def test_a_webhook_error_status_is_logged(tmp_path, caplog, status):
    with Webhook(status=status) as hook:
        with caplog.at_level(logging.WARNING, logger="tunepipe.scheduling.notify"):
            assert notify.failed(_cfg(tmp_path, webhook_url=hook.url), "boom") is False
    assert f"HTTPError {status}" in caplog.text and "s3cr3t" not in caplog.text


def test_the_local_runner_leaves_awaiting_approval_to_the_change_step(tmp_path):
    with Webhook() as hook:
        cfg = _cfg(tmp_path, webhook_url=hook.url)
        assert notify.run_failed(cfg, "stage 'approval_gate' failed: Dataset x is awaiting approval") is False
        assert notify.run_failed(cfg, "stage 'approval_gate' failed: dataset x was rejected") is True
    assert len(hook.messages) == 1


def test_notify_candidate_op_announces_unless_auto_promoted(tmp_path):
    from tunepipe.components.scheduling import notify_candidate_op

    registered = '{"name": "support", "version": "4"}'
    with Webhook() as hook:
        cfg = _cfg(tmp_path, webhook_url=hook.url)
        assert notify_candidate_op.python_func(config=cfg.to_json(), registered=registered) is True
        auto = cfg.model_copy(update={"registry": cfg.registry.model_copy(update={"auto_promote": True})})
        assert notify_candidate_op.python_func(config=auto.to_json(), registered=registered) is False
    (text,) = hook.texts()
    assert "candidate support version 4" in text
