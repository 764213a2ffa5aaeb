"""Components of scheduled retraining: the data's content fingerprint, the change decision, the candidate's
webhook notification."""

from kfp import dsl

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def fingerprint_op(config: str, data_fingerprint: str) -> str:
    """The fingerprint of the input files' bytes: the one passed in (a local run), else computed now (a
    scheduled run), so the cached data steps see a content change."""
    from tunepipe.config import Config
    from tunepipe.scheduling.change import content_fingerprint

    return data_fingerprint or content_fingerprint(Config.from_json(config).data.paths)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def change_op(config: str, parent_run_id: str, digest: str) -> str:
    """"no change" (the approved digest already has a registered version with this config) or "train"."""
    import json

    from tunepipe.components.runtime import run_stage
    from tunepipe.scheduling.change import decide_and_notify

    return json.loads(run_stage(config, "change", lambda cfg: decide_and_notify(cfg, digest), parent_run_id))["status"]


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def notify_candidate_op(config: str, registered: str) -> bool:
    """Tell the webhook a candidate awaits promotion (unless registry.auto_promote promotes it)."""
    import json

    from tunepipe.config import Config
    from tunepipe.scheduling import notify

    cfg = Config.from_json(config)
    return False if cfg.registry.auto_promote else notify.awaiting_promotion(cfg, json.loads(registered))
