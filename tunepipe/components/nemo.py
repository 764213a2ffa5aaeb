"""Components of the fine-tuning stage with the NeMo backend: one GPU pod (`nemo_finetune_op`), or a
Kubeflow Trainer TrainJob across nodes launched from a step in the project image (`nemo_trainjob_op`).

It runs in the NeMo image (`NEMO_IMAGE`, or `training.nemo.image` once compiled), which has NeMo, torch
and pip but neither kfp nor tunepipe. kfp is installed by KFP's own launcher at container start
(`install_kfp_package=True`, the default: `pip install kfp==<this version> --no-deps`); a local run of
it is a no-op, the same version being installed already. tunepipe comes from the image built by
infra/Dockerfile.nemo (FROM the NeMo image, `pip install --no-deps` tunepipe and its light
dependencies), not from `packages_to_install`: that would pip-install into the host environment in
local runs, and tunepipe's pinned torch would replace the NeMo image's own build.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from tunepipe.components.image import IMAGE
from tunepipe.components.training import TRAINJOB_PASSTHROUGHS
from tunepipe.config import NEMO_IMAGE


@dsl.component(base_image=NEMO_IMAGE)
def nemo_finetune_op(
    config: str,
    approved_digest: str,
    nemo_data: Input[Dataset],
    model: Output[Model],
) -> str:
    """Fine-tune with NeMo (LoRA or SFT) on the approved split's NeMo files; writes HF adapter/merged weights."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.training.backends import backend
    from tunepipe.training.contract import TrainInputs

    inputs = TrainInputs(approved_digest, nemo_dir=nemo_data.path)
    return run_stage(config, "finetune", lambda cfg: backend("nemo").finetune(cfg, inputs, model.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False, task_config_passthroughs=TRAINJOB_PASSTHROUGHS)
def nemo_trainjob_op(
    config: str,
    approved_digest: str,
    workspace_path: str,
    nemo_data: Input[Dataset],
    model: Output[Model],
    task_config: dsl.TaskConfig,
) -> str:
    """Fine-tune with NeMo across nodes: a Kubeflow Trainer TrainJob whose nodes run the NeMo image."""
    import dataclasses

    from tunepipe.components.runtime import run_stage
    from tunepipe.training.trainjob import run_trainjob

    return run_stage(config, "finetune", lambda cfg: run_trainjob(
        cfg, dataclasses.asdict(task_config), nemo_data.path, None, model.path, approved_digest, workspace_path,
    ))
