"""The first component: apply the Kubeflow UI's parameters to the config and open the MLflow run."""

from typing import NamedTuple

from kfp import dsl

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def setup_op(
    config_json: str, mlflow_parent_run_id: str, pipeline_job: str, knobs: dict,
) -> NamedTuple("SetupOutputs", [("config", str), ("data_config", str), ("training_config", str),
                                    ("parent_run_id", str)]):
    """Validate the config with the run's parameters (`pipelines.knobs.KNOBS`) applied; open the MLflow parent run.

    `data_config` and `training_config` are what the cached data and fine-tuning stages get
    (`Config.data_stage_json`, `Config.training_stage_json`)."""
    from collections import namedtuple

    from tunepipe.pipelines.knobs import apply_knobs
    from tunepipe.tracking import start_pipeline_run

    cfg = apply_knobs(config_json, knobs)
    run_id = mlflow_parent_run_id or start_pipeline_run(cfg, pipeline_job, params=knobs)
    return namedtuple("SetupOutputs", ["config", "data_config", "training_config", "parent_run_id"])(
        cfg.to_json(), cfg.data_stage_json(), cfg.training_stage_json(), run_id)
