"""Component of the approval gate: training proceeds only on a digest a human approved."""

from kfp import dsl

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def approval_gate_op(config: str, parent_run_id: str, digest: str) -> str:
    """Pass only if a human approved this digest (or the demo config records a named demo approval)."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.governance.approval import gate

    return run_stage(config, "approval_gate", lambda cfg: gate(cfg, digest), parent_run_id)
