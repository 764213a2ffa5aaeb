"""Bad training input fails with an error that says what to do, before any model weights are loaded."""

from __future__ import annotations

import pytest

from tunepipe.config import validate_config
from tunepipe.errors import TunepipeError


@pytest.fixture
def refused(tmp_path, approver, splits, no_weights):
    """refused(cfg, split=None) -> the error message of a fine-tune that must stop before loading weights."""
    from tunepipe.training.peft_backend import finetune

    def run(cfg, split=None) -> str:
        train_dir, val_dir, digest = split or splits
        approver(cfg, digest)
        with pytest.raises(TunepipeError) as err:
            finetune(cfg, train_dir, val_dir, str(tmp_path / "model"), digest)
        assert not (tmp_path / "model").exists()
        return str(err.value)

    return run


def test_a_base_model_path_that_does_not_exist(tmp_path, data_dir, make_cfg, refused):
    assert "no-such-model" in refused(make_cfg(data_dir, model={"base": str(tmp_path / "no-such-model")}))


def test_a_target_module_the_model_lacks_names_the_real_layers(data_dir, make_cfg, refused):
    message = refused(make_cfg(data_dir, training={"lora": {"target_modules": ["q_proj", "c_attn"]}}))
    assert "c_attn" in message and "training.lora.target_modules" in message
    assert "v_proj" in message and "down_proj" in message


@pytest.mark.parametrize("seq_len, training, needle", [
    (2048, {}, "model.max_seq_len=2048 exceeds the context"),
    (1000, {"method": "ptuning", "ptuning": {"num_virtual_tokens": 30}}, "max_seq_len=1000 + 30 virtual tokens"),
])
def test_a_sequence_length_beyond_the_context(data_dir, make_cfg, refused, seq_len, training, needle):
    message = refused(make_cfg(data_dir, model={"max_seq_len": seq_len}, training=training))
    assert needle in message and "1024 positions" in message


def test_a_dataset_with_no_trainable_tokens(tmp_path, data_dir, make_cfg, refused, split_writer):
    import pandas as pd

    from tunepipe.digest import pandas_digest

    frame = pd.DataFrame([{"prompt": "word " * 80, "context": None, "response": "red"} for _ in range(3)])
    digest = pandas_digest(frame)
    split = split_writer(tmp_path / "train", frame, digest)
    message = refused(make_cfg(data_dir), (split, split, digest))
    assert "no trainable tokens" in message and "3 dropped" in message and "model.max_seq_len=64" in message


@pytest.mark.parametrize("training, needle", [
    ({"method": "qlora"}, "needs a CUDA GPU"),
    ({"precision": "fp16"}, "fp16 needs a CUDA GPU"),
])
def test_gpu_only_settings_on_cpu(data_dir, make_cfg, refused, training, needle):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert needle in refused(make_cfg(data_dir, training=training))


def test_resume_from_a_dir_that_is_not_a_checkpoint(tmp_path, data_dir, make_cfg, refused):
    (tmp_path / "empty").mkdir()
    message = refused(make_cfg(data_dir, training={"resume": str(tmp_path / "empty")}))
    assert "is not a complete checkpoint" in message


@pytest.mark.parametrize("training, needle", [
    ({"method": "ptuning", "packing": True}, "training.packing is not supported with method=ptuning"),
    ({"early_stopping_patience": 2}, "needs training.eval_every"),
    ({"method": "dora"}, "training.method"),
])
def test_inconsistent_training_config_is_refused_when_read(training, needle):
    with pytest.raises(TunepipeError, match="invalid config") as err:
        validate_config({"data": {"paths": ["x.jsonl"]}, "training": training})
    assert needle in str(err.value)
