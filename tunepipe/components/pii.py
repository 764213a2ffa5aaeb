"""Component of the PII + RAI screen stage: find personal data, secrets and blocked content; redact by policy."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def pii_op(config: str, cleaned: Input[Dataset], redacted: Output[Dataset], removed: Output[Dataset]) -> str:
    """Find personal data, secrets and blocked content; redact, drop or quarantine by policy."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.pii.stage import redact_pii

    return run_stage(config, "pii", lambda cfg: redact_pii(cfg, cleaned.path, redacted.path, removed.path))
