"""Roll the production endpoint to a registered version (called by `tunepipe promote` when
registry.rollout_on_promote is true).

The production Deployment (or InferenceService) is re-applied with the new version; its rolling
update (maxSurge 1, maxUnavailable 0) brings the new pods up before the old ones go.
"""

from __future__ import annotations

from tunepipe.config import Config


def roll_production(cfg: Config, model_name: str, version: str, api=None) -> dict:
    """Apply the production objects for `models:/<model_name>/<version>`; the deploy summary."""
    from tunepipe.deploy.deploy import deploy

    return deploy(cfg, f"{model_name}/{version}", apply=True, stage="production", api=api)
