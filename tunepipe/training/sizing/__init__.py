"""Hardware sizing: memory per GPU and the parallel layout a fine-tuning run needs.

    catalogue   model shapes and GPU kinds (shared with serving sizing, tunepipe.deploy.plan)
    memory      bytes on one GPU of a layout: weights, gradients, optimizer state, activations
    layout      the search for the smallest layout that fits, and `plan()`
    render      the plan as a table for a person

The names below are the package's public surface; importers need not know which module holds what.
"""

from tunepipe.training.sizing.catalogue import (GIB, GPUS, KNOWN_MODELS, Arch, Gpu, arch_from_hf_dir,
                                                canonical_name, get_gpu, resolve_model)
from tunepipe.training.sizing.layout import Plan, gpu_counts, layouts, plan, plan_job
from tunepipe.training.sizing.memory import (METHODS, Job, Layout, Memory, estimate, layer_activation_bytes,
                                             lora_params_per_layer, make_job, prompt_encoder_params,
                                             trainable_params)
from tunepipe.training.sizing.render import print_plan

__all__ = ["GIB", "GPUS", "KNOWN_MODELS", "METHODS", "Arch", "Gpu", "Job", "Layout", "Memory", "Plan",
           "arch_from_hf_dir", "canonical_name", "estimate", "get_gpu", "gpu_counts", "layer_activation_bytes",
           "layouts", "lora_params_per_layer", "make_job", "plan", "plan_job", "print_plan",
           "prompt_encoder_params", "resolve_model", "trainable_params"]
