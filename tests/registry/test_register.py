"""Registration in a real MLflow registry (SQLite): the registered model IS the trained model."""

from __future__ import annotations

import mlflow
import pytest
import torch

from tunepipe.errors import TunepipeError
from tunepipe.registry import load_registered, register_model

from .conftest import LINEAGE, METRICS


@pytest.fixture(scope="module")
def registered(make_cfg, model_dir):
    cfg = make_cfg()
    return cfg, register_model(cfg, model_dir, METRICS, LINEAGE)


def test_registered_model_gives_the_same_logits_as_the_merged_model(registered, model_dir):
    from tunepipe.training.models import load_model_and_tokenizer

    cfg, info = registered
    assert info["uri"] == "models:/tiny-support@candidate"
    loaded, tokenizer = load_registered(cfg, "models:/tiny-support@candidate")
    original, _ = load_model_and_tokenizer(f"{model_dir}/merged")
    batch = tokenizer(["What colour is item 2?", "How do I reset my password? Open settings."], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.allclose(loaded(**batch).logits, original(**batch).logits, atol=1e-5)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False).startswith("<|im_start|>user")


def test_version_carries_alias_lineage_metrics_and_model_card(registered):
    cfg, info = registered
    client = mlflow.MlflowClient()
    version = client.get_model_version("tiny-support", info["version"])
    assert info["version"] == "1" and version.run_id == info["run_id"]
    assert info["alias"] == "candidate" and "candidate" in client.get_registered_model("tiny-support").aliases
    tags = version.tags
    assert tags["tunepipe.dataset_digest"] == "d" * 64 and tags["tunepipe.approval_reviewer"] == "alice"
    assert tags["tunepipe.git_commit"] == "abc1234" and tags["tunepipe.training_run_id"] == "run-train-1"
    assert float(tags["tunepipe.metric.candidate.rouge_l"]) == pytest.approx(0.41)
    assert "tunepipe.metric.examples" not in " ".join(tags)
    assert "| candidate | 2.3000 | 0.4100 |" in version.description and "alice" in version.description
    card = mlflow.artifacts.load_text(f"runs:/{info['run_id']}/model_card.md")
    assert card == version.description


def test_registering_again_adds_a_version_and_moves_the_alias(registered, model_dir):
    cfg, first = registered
    second = register_model(cfg, model_dir, METRICS, LINEAGE)
    assert int(second["version"]) == int(first["version"]) + 1
    assert str(mlflow.MlflowClient().get_model_version_by_alias("tiny-support", "candidate").version) == second["version"]


def test_a_failure_after_the_version_exists_leaves_no_version_behind(tmp_path, make_cfg, model_dir):
    cfg = make_cfg(tmp_path / "data", model_name="never-half-registered")
    too_long = {**LINEAGE, "notes": "x" * 200_000}
    with pytest.raises(Exception, match="(?i)length|exceed|long"):
        register_model(cfg, model_dir, METRICS, too_long)
    client = mlflow.MlflowClient()
    assert client.search_model_versions("name='never-half-registered'") == []
    assert client.search_registered_models("name='never-half-registered'") == []
    run = client.search_runs([client.get_experiment_by_name(cfg.mlflow.experiment).experiment_id])[0]
    assert run.info.status == "FAILED"


def test_a_reserved_alias_is_refused_before_anything_is_logged(tmp_path, make_cfg, model_dir):
    cfg = make_cfg(tmp_path / "data", alias="v1")
    with pytest.raises(TunepipeError, match="registry.alias"):
        register_model(cfg, model_dir, METRICS, LINEAGE)
    assert not (tmp_path / "data").exists()


def test_an_unknown_model_uri_is_a_clear_error(registered):
    cfg, _ = registered
    with pytest.raises(TunepipeError, match="not in the registry"):
        load_registered(cfg, "models:/tiny-support@champion")
