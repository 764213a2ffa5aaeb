"""LoRA fine-tuning on the tiny model: it learns, logs to MLflow, and refuses unapproved or mismatched data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError


@pytest.fixture(scope="module")
def trained(tmp_path_factory, make_cfg, run_finetune, splits):
    """One real fine-tune inside an MLflow stage run, shared by the assertions below."""
    root = tmp_path_factory.mktemp("trained")
    cfg = make_cfg(root / "data", training={"system_metrics_interval_s": 0.5})
    result, run_id = run_finetune(cfg, splits, root / "model")
    return cfg, result, root / "model", run_id


def test_finetune_lowers_validation_loss(trained):
    _, result, _, _ = trained
    assert result["steps"] == 30
    assert result["train_rows"] == 40 and result["truncated"] == 0
    assert result["val_loss_before"] > 5.0
    assert result["val_loss"] < 0.6 * result["val_loss_before"]
    assert result["train_loss"] < result["first_train_loss"]
    assert result["tokens_per_s"] > 0 and result["seconds"] > 0


def test_finetune_writes_adapter_merged_model_and_summary(trained):
    _, result, model_dir, _ = trained
    adapter = json.loads((model_dir / "adapter" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA" and set(adapter["target_modules"]) == {"q_proj", "v_proj"}
    assert (model_dir / "merged" / "model.safetensors").is_file()
    assert (model_dir / "merged" / "tokenizer.json").is_file()
    assert not (model_dir / "merged" / "adapter_config.json").exists()
    assert json.loads((model_dir / "finetune_summary.json").read_text())["val_loss"] == result["val_loss"]


def test_merged_model_scores_like_the_adapter_model(trained, splits):
    """The merged checkpoint is the trained model: its validation loss matches the one reported."""
    from tunepipe import artifacts
    from tunepipe.evaluation.metrics import answer_token_loss
    from tunepipe.training.data import encode_frame
    from tunepipe.training.models import load_model_and_tokenizer

    cfg, result, model_dir, _ = trained
    model, tokenizer = load_model_and_tokenizer(model_dir / "merged")
    examples, _, _ = encode_frame(cfg, tokenizer, artifacts.read_parquet_dir(splits[1]), cfg.model.max_seq_len)
    assert answer_token_loss(model, examples, tokenizer.pad_token_id) == pytest.approx(result["val_loss"], abs=1e-3)


def test_finetune_logs_params_and_per_step_metrics(trained):

    cfg, result, _, run_id = trained
    client = tracking.client(cfg)
    run = client.get_run(run_id)
    params = run.data.params
    assert params["training.lora.r"] == "8" and params["training.max_steps"] == "30"
    assert params["training.method"] == "lora" and params["precision_resolved"] == "fp32"
    assert int(params["trainable_params"]) == result["trainable_params"] > 0
    assert "keep the whole prompt" in params["truncation_policy"]
    for name in ("train_loss", "learning_rate", "grad_norm", "tokens_per_s"):
        assert [m.step for m in client.get_metric_history(run_id, name)] == list(range(1, 31)), name
    lr = [m.value for m in sorted(client.get_metric_history(run_id, "learning_rate"), key=lambda m: m.step)]
    assert lr[0] < lr[2] and lr[-1] < lr[2]
    assert all(m.value > 0 for m in client.get_metric_history(run_id, "tokens_per_s"))
    assert run.data.metrics["val_loss"] == pytest.approx(result["val_loss"])
    assert any(key.startswith("system/cpu_utilization") for key in run.data.metrics)


def test_finetune_logs_the_resolved_config(trained, tmp_path):
    import mlflow

    cfg, _, _, run_id = trained
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="config/resolved_config.json",
                                               dst_path=str(tmp_path))
    from tunepipe.config.sections import TRAINING_STAGE_SECTIONS

    logged = json.loads(Path(path).read_text())
    assert set(logged) == TRAINING_STAGE_SECTIONS and "evaluation" not in logged
    assert logged == {k: v for k, v in json.loads(cfg.to_json()).items() if k in TRAINING_STAGE_SECTIONS}


def test_default_checkpoints_are_removed_after_success(trained):
    _, result, model_dir, _ = trained
    assert not (model_dir / "checkpoints").exists() and result["resumed_from_step"] == 0


def test_refuses_an_unapproved_digest(tmp_path, make_cfg, splits):
    from tunepipe.training.peft_backend import finetune

    train_dir, val_dir, digest = splits
    with pytest.raises(TunepipeError, match="approv"):
        finetune(make_cfg(tmp_path / "data"), train_dir, val_dir, str(tmp_path / "model"), digest)
    assert not (tmp_path / "model").exists()


def test_refuses_a_split_whose_digest_is_not_the_approved_one(tmp_path, make_cfg, approver, splits, split_writer):
    from tunepipe.training.peft_backend import finetune

    cfg = make_cfg(tmp_path / "data")
    _, val_dir, digest = splits
    other = split_writer(tmp_path / "train", __import__("pandas").read_parquet(Path(val_dir)), "f" * 64)
    approver(cfg, digest)
    with pytest.raises(TunepipeError) as err:
        finetune(cfg, other, val_dir, str(tmp_path / "model"), digest)
    assert "f" * 64 in str(err.value) and digest in str(err.value) and "split" in str(err.value)
    assert not (tmp_path / "model").exists()
