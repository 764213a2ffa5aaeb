"""NeMo's own recipe object from a run spec; NeMo is imported here, inside functions, and only in its image.
"""

from __future__ import annotations

from tunepipe.config import NEMO_IMAGE
from tunepipe.errors import TunepipeError


MISSING_NEMO = (
    "training.backend=nemo needs NeMo 2.x (nemo_toolkit[nlp]<=2.7.3 and nemo_run), which is not installed "
    f"here: run the fine-tune step in the image {NEMO_IMAGE} (on GPUs), or set training.backend=peft"
)


def import_nemo():
    """(nemo.collections.llm, nemo_run), or the error that says where NeMo lives."""
    try:
        import nemo_run
        from nemo.collections import llm
    except ImportError:
        raise TunepipeError(MISSING_NEMO) from None
    return llm, nemo_run


def recipe_module(llm, name: str):
    import importlib

    module = getattr(llm, name, None)
    if module is None:
        try:
            module = importlib.import_module(f"nemo.collections.llm.recipes.{name}")
        except ImportError:
            raise TunepipeError(f"NeMo has no recipe {name!r}: check training.nemo.recipe") from None
    return module


def build_recipe(spec: dict):
    """NeMo's fine-tuning recipe (a nemo_run.Partial of llm.finetune) with the spec applied."""
    llm, run = import_nemo()
    from nemo.collections.llm.gpt.data.packed_sequence import PackedSequenceSpecs

    recipe = recipe_module(llm, spec["recipe"]).finetune_recipe(
        dir=spec["run_dir"], name=spec["name"], num_nodes=spec["num_nodes"],
        num_gpus_per_node=spec["gpus_per_node"], peft_scheme=spec["peft_scheme"],
        packed_sequence=spec["packed_sequence"],
    )
    apply_trainer(recipe, spec)
    recipe.model.config.seq_length = spec["seq_length"]
    packed = None
    if spec["packed_sequence"]:
        packed = run.Config(PackedSequenceSpecs, packed_sequence_size=spec["packed_sequence_size"])
    recipe.data = run.Config(
        llm.FineTuningDataModule, dataset_root=spec["data_dir"], seq_length=spec["seq_length"],
        micro_batch_size=spec["micro_batch_size"], global_batch_size=spec["global_batch_size"],
        seed=spec["seed"], packed_sequence_specs=packed, dataset_kwargs=dict(spec["dataset_kwargs"]),
    )
    recipe.optim.config.lr = spec["learning_rate"]
    recipe.optim.lr_scheduler.warmup_steps = spec["warmup_steps"]
    recipe.resume.restore_config.path = spec["restore_path"]
    if spec["lora"]:
        for key, value in spec["lora"].items():
            setattr(recipe.peft, key, value)
    return recipe


def apply_trainer(recipe, spec: dict) -> None:
    trainer = recipe.trainer
    trainer.strategy.tensor_model_parallel_size = spec["tensor_parallel"]
    trainer.strategy.pipeline_model_parallel_size = spec["pipeline_parallel"]
    trainer.num_nodes = spec["num_nodes"]
    trainer.devices = spec["gpus_per_node"]
    trainer.max_steps = spec["max_steps"]
    trainer.val_check_interval = spec["checkpoint_every"]
    trainer.plugins.precision = spec["precision"]
    recipe.log.ckpt.every_n_train_steps = spec["checkpoint_every"]
