"""The first component: apply the Kubeflow UI's parameters to the config and open the MLflow run."""

from typing import NamedTuple

from kfp import dsl

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def setup_op(
    config_json: str,
    mlflow_parent_run_id: str,
    pipeline_job: str,
    data_paths: str,
    base_model: str,
    max_steps: int,
    learning_rate: float,
    lora_rank: int,
    eval_max_samples: int,
    min_rouge_l_gain: float,
    registered_model_name: str,
    approval_mode: str,
) -> NamedTuple("SetupOutputs", [("config", str), ("parent_run_id", str)]):
    """Validate the config with the run's parameters applied; open the pipeline's MLflow parent run."""
    from collections import namedtuple

    from tunepipe.pipelines.knobs import apply_knobs
    from tunepipe.tracking import start_pipeline_run

    knobs = dict(
        data_paths=data_paths, base_model=base_model, max_steps=max_steps, learning_rate=learning_rate,
        lora_rank=lora_rank, eval_max_samples=eval_max_samples, min_rouge_l_gain=min_rouge_l_gain,
        registered_model_name=registered_model_name, approval_mode=approval_mode,
    )
    cfg = apply_knobs(config_json, knobs)
    run_id = mlflow_parent_run_id or start_pipeline_run(cfg, pipeline_job, params=knobs)
    return namedtuple("SetupOutputs", ["config", "parent_run_id"])(cfg.to_json(), run_id)
