"""Many processes on one node: torchrun with 2 CPU workers (gloo) trains the tiny model for real.

Rank 0 alone writes outputs and logs to the stage's MLflow run; tokens/s counts both workers.
"""

from __future__ import annotations

import json

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError


@pytest.fixture(scope="module")
def ddp(tmp_path_factory, make_cfg, approver, splits):
    from tunepipe.tracking import stage_run
    from tunepipe.training.launch import finetune

    root = tmp_path_factory.mktemp("ddp")
    cfg = make_cfg(root / "data", training={"max_steps": 12, "batch_size": 2, "processes": 2,
                                            "system_metrics_interval_s": None})
    train_dir, val_dir, digest = splits
    approver(cfg, digest)
    with stage_run(cfg, "finetune") as run:
        result = finetune(cfg, train_dir, val_dir, str(root / "model"), digest)
    return cfg, result, root / "model", run.info.run_id


def test_two_workers_train_and_lower_the_validation_loss(ddp):
    _, result, _, _ = ddp
    assert result["world_size"] == 2 and result["steps"] == 12
    assert result["val_loss"] < 0.8 * result["val_loss_before"]
    assert result["train_loss"] < result["first_train_loss"]


def test_rank_zero_alone_writes_one_adapter_and_one_summary(ddp):
    _, result, model_dir, _ = ddp
    assert sorted(p.name for p in model_dir.iterdir()) == ["adapter", "finetune_summary.json", "merged"]
    assert (model_dir / "adapter" / "adapter_config.json").is_file()
    assert json.loads((model_dir / "finetune_summary.json").read_text()) == result


def test_one_mlflow_run_holds_the_training_with_tokens_of_both_workers(ddp):

    cfg, result, _, run_id = ddp
    client = tracking.client(cfg)
    experiment = client.get_experiment_by_name(cfg.mlflow.experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]
    assert result["training_run_id"] == run_id
    run = client.get_run(run_id)
    assert run.data.params["world_size"] == "2"
    assert [m.step for m in client.get_metric_history(run_id, "train_loss")] == list(range(1, 13))
    assert run.data.metrics["val_loss"] == pytest.approx(result["val_loss"])
    assert result["tokens_per_s"] > 0


def test_a_worker_error_reaches_the_launcher_as_a_short_message(tmp_path, make_cfg, approver, splits):
    from tunepipe.training.launch import finetune

    cfg = make_cfg(tmp_path / "data", training={"processes": 2, "lora": {"target_modules": ["no_such_proj"]}})
    train_dir, val_dir, digest = splits
    approver(cfg, digest)
    with pytest.raises(TunepipeError, match=r"target_modules \['no_such_proj'\] not found"):
        finetune(cfg, train_dir, val_dir, str(tmp_path / "model"), digest)


def test_processes_and_strategy_follow_the_config(make_cfg, tmp_path):
    from tunepipe.training.parallel import fsdp_arguments, parallel_arguments, processes, strategy

    cfg = make_cfg(tmp_path, training={"processes": 4})
    assert processes(cfg) == 4 and strategy(cfg, 4) == "ddp" and strategy(cfg, 1) == "none"
    assert strategy(make_cfg(tmp_path, training={"distributed": "none"}), 4) == "none"
    fsdp = make_cfg(tmp_path, training={"distributed": "fsdp", "gradient_checkpointing": True})
    assert strategy(fsdp, 4) == "fsdp"
    assert parallel_arguments(fsdp, 1) == {}
    args = parallel_arguments(fsdp, 4)
    assert args == fsdp_arguments(fsdp)
    assert args["fsdp_config"]["version"] == 2 and args["fsdp_config"]["activation_checkpointing"] is True
    assert args["fsdp_config"]["state_dict_type"] == "FULL_STATE_DICT"


def test_fsdp_arguments_are_accepted_by_the_trainer(make_cfg, tmp_path):
    from transformers import TrainingArguments

    from tunepipe.training.parallel import fsdp_arguments

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none",
                             **fsdp_arguments(make_cfg(tmp_path, training={"distributed": "fsdp"})))
    assert args.fsdp_plugin_args["fsdp_version"] == 2
    assert args.fsdp_plugin_args["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"


def test_fsdp_on_two_cpu_workers_trains_and_writes_one_adapter(tmp_path, make_cfg, approver, splits):
    from tunepipe.tracking import stage_run
    from tunepipe.training.launch import finetune

    cfg = make_cfg(tmp_path / "data", training={"max_steps": 8, "batch_size": 2, "processes": 2,
                                                "distributed": "fsdp", "system_metrics_interval_s": None})
    train_dir, val_dir, digest = splits
    approver(cfg, digest)
    with stage_run(cfg, "finetune"):
        result = finetune(cfg, train_dir, val_dir, str(tmp_path / "model"), digest)
    assert result["world_size"] == 2 and result["val_loss"] < result["val_loss_before"]
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["adapter", "finetune_summary.json", "merged"]
