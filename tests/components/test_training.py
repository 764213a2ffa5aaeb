"""tunepipe.components.training and .nemo through python_func: the approved split in, the output contract out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.training.contract import ADAPTER_DIR, MERGED_DIR, SUMMARY_FILE

from tests.components.conftest import artifact


@pytest.fixture(scope="session")
def trained(chain, project):
    from tunepipe.components.training import finetune_op

    root, cfg = project
    split = chain["split"][1]
    model = artifact(root, "model", "Model")
    summary = json.loads(finetune_op.python_func(config=cfg.to_json(), approved_digest=chain["review"][1]["digest"],
                                                 train=split["train"], validation=split["validation"], model=model))
    return summary, model


def test_finetune_writes_the_output_contract(trained, chain):
    summary, model = trained
    out = Path(model.path)
    assert (out / ADAPTER_DIR / "adapter_config.json").is_file() and (out / MERGED_DIR / "config.json").is_file()
    assert json.loads((out / SUMMARY_FILE).read_text())["steps"] == summary["steps"] == 2
    assert summary["digest"] == chain["review"][1]["digest"] and summary["mlflow_run_id"]


def test_finetune_refuses_a_digest_nobody_approved(chain, project, tmp_path):
    from tunepipe.components.training import finetune_op

    _, cfg = project
    split = chain["split"][1]
    with pytest.raises(TunepipeError, match="not approved"):
        finetune_op.python_func(config=cfg.to_json(), approved_digest="f" * 64, train=split["train"],
                                validation=split["validation"], model=artifact(tmp_path, "m", "Model"))


def test_nemo_step_checks_the_approval_then_names_the_image_it_needs(chain, project, tmp_path):
    from tunepipe.components.nemo import nemo_finetune_op

    _, cfg = project
    nemo = cfg.training.nemo.model_copy(update={"recipe": "llama3_8b"})
    nemo_cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"backend": "nemo", "nemo": nemo})})
    files = chain["split"][1]["nemo"]
    with pytest.raises(TunepipeError, match="not approved"):
        nemo_finetune_op.python_func(config=nemo_cfg.to_json(), approved_digest="e" * 64, nemo_data=files,
                                     model=artifact(tmp_path, "m1", "Model"))
    with pytest.raises(TunepipeError, match="nvcr.io/nvidia/nemo"):
        nemo_finetune_op.python_func(config=nemo_cfg.to_json(), approved_digest=chain["review"][1]["digest"],
                                     nemo_data=files, model=artifact(tmp_path, "m2", "Model"))
