"""Fine-tuning stage, NeMo backend: LoRA or full SFT with NeMo 2.x recipes, tensor and pipeline parallel.

    finetune = checks -> recipe_spec -> stage data -> import HF ckpt -> run recipe -> export to HF

On one node `finetune` launches torchrun over the pod's GPUs itself; across nodes (a Kubeflow Trainer
TrainJob, `trainjob`) every process runs `finetune_on_node`: rank 0 does the steps around training.

`spec.recipe_spec` turns the config into a plain, JSON-serialisable description of the run (recipe name,
parallel layout, batch sizes, LoRA settings in NeMo's module names, data and checkpoint paths) and
checks it; `recipe.build_recipe` turns that into NeMo's own recipe object. Outputs match the PEFT backend
(`peft_backend`), so evaluation, registry and serving cannot tell the two apart: `out_dir/adapter`
(HF PEFT, lora), `out_dir/merged` (HF, sft and lora with `training.merge`) and
`out_dir/finetune_summary.json`.

NeMo (`nemo_toolkit[nlp]<=2.7.3`, `nemo_run`) exists only in the image nvcr.io/nvidia/nemo:25.11.01 on
GPUs: it is imported inside the functions that need it, never when this module is imported.
docs/nemo.md says what has and has not been run against real NeMo.

Modules: `spec` (the run as data), `recipe` (NeMo's recipe object), `data` (split files for NeMo),
`checkpoints` (import, checkpoints, HF export, summary), `stage` (the stage and its multi-node entry).
"""

from tunepipe.training.nemo_backend.checkpoints import export, last_checkpoint, summary
from tunepipe.training.nemo_backend.data import NEMO_FILES, load_tokenizer, stage_data
from tunepipe.training.nemo_backend.recipe import MISSING_NEMO, build_recipe, import_nemo
from tunepipe.training.nemo_backend.spec import (
    check_layout, global_batch, lora_spec, model_family, nemo_lora_targets, parallel_layout, peft_scheme,
    read_hf_config, recipe_for, recipe_spec,
)
from tunepipe.training.nemo_backend.stage import (
    NEMO, READY_MARKER, NemoBackend, finetune, finetune_on_node, marker_path, wait_for_marker,
)

__all__ = [
    "MISSING_NEMO", "NEMO", "NEMO_FILES", "READY_MARKER", "NemoBackend", "build_recipe", "check_layout", "export",
    "finetune", "finetune_on_node", "global_batch", "import_nemo", "last_checkpoint", "load_tokenizer", "lora_spec",
    "marker_path", "model_family", "nemo_lora_targets", "parallel_layout", "peft_scheme", "read_hf_config",
    "recipe_for", "recipe_spec", "stage_data", "summary", "wait_for_marker",
]
