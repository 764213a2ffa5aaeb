"""Components of the fine-tuning stage; the pipeline puts them on the GPU node pool.

`finetune_op` trains in its own pod (torchrun inside when the pod has more than one GPU).
`finetune_trainjob_op` holds no GPU: it creates a Kubeflow Trainer TrainJob across nodes and waits for
it. KFP passes the task's GPUs, node selector, tolerations, affinity, env and volumes (the pipeline
workspace among them) through to it as a `dsl.TaskConfig` instead of applying them to its own pod.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from tunepipe.components.image import IMAGE

TRAINJOB_PASSTHROUGHS = [
    dsl.TaskConfigField.RESOURCES,
    dsl.TaskConfigField.KUBERNETES_NODE_SELECTOR,
    dsl.TaskConfigField.KUBERNETES_TOLERATIONS,
    dsl.TaskConfigField.KUBERNETES_AFFINITY,
    dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.ENV, apply_to_task=True),
    dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.KUBERNETES_VOLUMES, apply_to_task=True),
]


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def finetune_op(
    config: str,
    approved_digest: str,
    train: Input[Dataset],
    validation: Input[Dataset],
    model: Output[Model],
) -> str:
    """Fine-tune the base model on the approved training split; writes adapter and merged weights."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.training.launch import finetune

    return run_stage(
        config, "finetune", lambda cfg: finetune(cfg, train.path, validation.path, model.path, approved_digest)
    )


@dsl.component(base_image=IMAGE, install_kfp_package=False, task_config_passthroughs=TRAINJOB_PASSTHROUGHS)
def finetune_trainjob_op(
    config: str,
    approved_digest: str,
    workspace_path: str,
    train: Input[Dataset],
    validation: Input[Dataset],
    model: Output[Model],
    task_config: dsl.TaskConfig,
) -> str:
    """Fine-tune across nodes in a Kubeflow Trainer TrainJob; writes the same outputs as finetune_op."""
    import dataclasses

    from tunepipe.components.runtime import run_stage
    from tunepipe.training.trainjob import run_trainjob

    return run_stage(config, "finetune", lambda cfg: run_trainjob(
        cfg, dataclasses.asdict(task_config), train.path, validation.path, model.path, approved_digest,
        workspace_path,
    ))
