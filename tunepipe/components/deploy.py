"""Component after registration: the candidate onto the staging trtllm-serve endpoint (serving.deploy_staging)."""

from kfp import dsl

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def deploy_staging_op(config: str, parent_run_id: str, model_uri: str) -> str:
    """Apply the staging Deployment (or InferenceService) that serves the registered candidate."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.deploy.deploy import deploy

    return run_stage(config, "deploy_staging", lambda cfg: deploy(cfg, model_uri, apply=True, stage="staging"),
                     parent_run_id)
