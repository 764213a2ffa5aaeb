"""Component of the fine-tuning stage (PEFT LoRA); the pipeline puts it on the GPU node pool."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from tunepipe.components.image import IMAGE


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
    from tunepipe.training.lora import finetune

    return run_stage(
        config, "finetune", lambda cfg: finetune(cfg, train.path, validation.path, model.path, approved_digest)
    )
