"""Every method on the tiny model: it learns, writes the outputs evaluation and the registry expect, and
the training options (packing, gradient checkpointing, early stopping) keep the maths the same."""

from __future__ import annotations

import json

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError

METHODS = {
    "sft": {"learning_rate": 3e-3},
    "ptuning": {"ptuning": {"num_virtual_tokens": 8, "encoder_hidden_size": 32}},
    "prompt_tuning": {"prompt_tuning": {"num_virtual_tokens": 8, "init_text": "What colour is the item?"}},
}


@pytest.fixture(scope="module")
def by_method(tmp_path_factory, data_dir, make_cfg, run_finetune, splits):
    """method -> (cfg, summary, model_dir), each trained once for 20 steps."""
    out = {}
    for method, extra in METHODS.items():
        cfg = make_cfg(data_dir, training={"method": method, "max_steps": 20, **extra})
        model_dir = tmp_path_factory.mktemp(method)
        out[method] = (cfg, run_finetune(cfg, splits, model_dir)[0], model_dir)
    return out


@pytest.mark.parametrize("method", METHODS)
def test_each_method_lowers_the_validation_loss(by_method, method):
    _, result, _ = by_method[method]
    assert result["method"] == method and result["steps"] == 20
    assert result["val_loss"] < 0.9 * result["val_loss_before"]


@pytest.mark.parametrize("method, peft_type", [("ptuning", "P_TUNING"), ("prompt_tuning", "PROMPT_TUNING")])
def test_prompt_methods_write_an_adapter_and_no_merged_model(by_method, method, peft_type):
    _, result, model_dir = by_method[method]
    adapter = json.loads((model_dir / "adapter" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == peft_type and adapter["num_virtual_tokens"] == 8
    assert result["outputs"] == {"adapter": True, "merged": False} and not (model_dir / "merged").exists()


def test_full_sft_writes_a_merged_model_only(by_method):
    _, result, model_dir = by_method["sft"]
    assert result["outputs"] == {"adapter": False, "merged": True}
    assert (model_dir / "merged" / "model.safetensors").is_file() and not (model_dir / "adapter").exists()
    assert result["trainable_params"] == result["total_params"]


def test_evaluation_scores_a_prompt_tuned_adapter_on_the_base(by_method, splits, tmp_path):
    """Evaluation loads adapter/ on the base model: its loss on the validation rows is the one training reported."""
    from tunepipe.evaluation.evaluate import evaluate

    cfg, result, model_dir = by_method["ptuning"]
    cfg = cfg.model_copy(deep=True)
    cfg.evaluation.max_samples, cfg.evaluation.max_new_tokens = 2, 4
    metrics = evaluate(cfg, str(model_dir), splits[1], str(tmp_path / "eval.html"))
    loss = {m: metrics["metrics"][m]["loss"]["value"] for m in ("base", "candidate")}
    assert loss["candidate"] == pytest.approx(result["val_loss"], abs=1e-3)
    assert loss["candidate"] < loss["base"] and metrics["test"]["n_generated"] == 2


def test_the_registry_explains_why_an_adapter_alone_is_not_registered(by_method):
    from tunepipe.registry.register import register_model

    cfg, _, model_dir = by_method["prompt_tuning"]
    with pytest.raises(TunepipeError, match="P-tuning and prompt tuning cannot be merged"):
        register_model(cfg, model_dir, {}, {})


@pytest.fixture(scope="module")
def variants(tmp_path_factory, data_dir, make_cfg, run_finetune, splits):
    """The same 10 LoRA steps (dropout off, so runs are comparable) padded, packed, and checkpointed."""
    options = {"padded": {}, "packed": {"packing": True}, "checkpointed": {"gradient_checkpointing": True}}
    out = {}
    for name, extra in options.items():
        cfg = make_cfg(data_dir, training={"max_steps": 10, "lora": {"dropout": 0.0}, **extra})
        out[name] = run_finetune(cfg, splits, tmp_path_factory.mktemp(name))[0]
    return out


@pytest.mark.parametrize("name", ["packed", "checkpointed"])
def test_packing_and_gradient_checkpointing_train_the_same_model(variants, name):
    padded, other = variants["padded"], variants[name]
    assert other["first_train_loss"] == pytest.approx(padded["first_train_loss"], abs=1e-4)
    assert other["val_loss"] == pytest.approx(padded["val_loss"], abs=2e-3)
    assert other["packing"] == (name == "packed")


def test_packed_batches_attend_within_each_example(tiny_base, make_cfg, data_dir, splits):
    """Each example packed with others into a row gets the logits it gets alone in a padded batch."""
    import torch
    from transformers import AutoTokenizer

    from tunepipe import artifacts
    from tunepipe.training.data import collate, encode_frame, pack
    from tunepipe.training.methods import hardware, load_base

    cfg = make_cfg(data_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    examples, _, _ = encode_frame(cfg, tokenizer, artifacts.read_parquet_dir(splits[0]).head(8), 64)
    model = load_base(cfg, tiny_base, hardware(cfg))
    padded, packed = collate(examples, tokenizer.pad_token_id), pack(examples, 64, tokenizer.pad_token_id)
    packed.pop("num_real_tokens")
    assert 1 < packed["input_ids"].shape[0] < len(examples)
    with torch.no_grad():
        logits_padded, logits_packed = model(**padded).logits, model(**packed).logits
    checked = 0
    for row, starts in enumerate((packed["position_ids"] == 0).tolist()):
        begins = [i for i, s in enumerate(starts) if s]
        for begin in begins:
            ids = packed["input_ids"][row, begin:].tolist()
            index = next(i for i, e in enumerate(examples) if ids[:len(e.input_ids)] == e.input_ids)
            n = len(examples[index].input_ids)
            alone = logits_padded[index, :n]
            torch.testing.assert_close(logits_packed[row, begin:begin + n], alone, atol=1e-5, rtol=1e-4)
            checked += 1
    assert checked == len(examples)


def test_early_stopping_ends_training_when_validation_stops_improving(tmp_path, data_dir, make_cfg, run_finetune,
                                                                       split_writer, splits):
    """Validation answers the training data never gives: once the model learns its answers, validation loss
    turns up and training stops."""
    import pandas as pd

    from tunepipe import artifacts
    from tunepipe.digest import pandas_digest

    train = artifacts.read_parquet_dir(splits[0])
    unseen = train.head(12).assign(response="violet magenta")
    digest = pandas_digest(pd.concat([train, unseen]))
    split = (split_writer(tmp_path / "train", train, digest), split_writer(tmp_path / "val", unseen, digest), digest)
    cfg = make_cfg(data_dir, training={"max_steps": 40, "learning_rate": 0.1, "eval_every": 2,
                                       "early_stopping_patience": 2})
    result, run_id = run_finetune(cfg, split, tmp_path / "model")
    assert result["stopped_early"] and result["steps"] < 40
    evals = [m.step for m in tracking.client(cfg).get_metric_history(run_id, "val_loss")]
    assert evals == [0, *range(2, result["steps"] + 1, 2), result["steps"]]
