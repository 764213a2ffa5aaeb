"""Components of the responsible-AI stages: PII redaction, review report, approval gate."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Output

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def pii_op(config: str, cleaned: Input[Dataset], redacted: Output[Dataset], removed: Output[Dataset]) -> str:
    """Find personal data, secrets and blocked content; redact, drop or quarantine by policy."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.rai.pii import redact_pii

    return run_stage(config, "pii", lambda cfg: redact_pii(cfg, cleaned.path, redacted.path, removed.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def review_op(
    config: str,
    parent_run_id: str,
    ingest_summary: str,
    clean_summary: str,
    dedup_summary: str,
    pii_summary: str,
    redacted: Input[Dataset],
    report: Output[HTML],
    report_md: Output[Markdown],
) -> NamedTuple("ReviewOutputs", [("digest", str), ("summary", str)]):
    """Write the review report (HTML + Markdown) and the MLflow dataset-review run for the digest."""
    import json
    from collections import namedtuple

    from tunepipe.components.runtime import run_stage
    from tunepipe.rai.review import write_review_report

    upstream = {k: json.loads(v) for k, v in
                {"ingest": ingest_summary, "clean": clean_summary, "dedup": dedup_summary,
                 "pii": pii_summary}.items()}
    summary = run_stage(
        config,
        "review",
        lambda cfg: {**write_review_report(cfg, redacted.path, report.path, report_md.path, upstream),
                     "upstream": upstream},
        parent_run_id,
    )
    return namedtuple("ReviewOutputs", ["digest", "summary"])(json.loads(summary)["digest"], summary)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def approval_gate_op(config: str, parent_run_id: str, digest: str) -> str:
    """Pass only if a human approved this digest (or the demo config records a named demo approval)."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.rai.approval import gate

    return run_stage(config, "approval_gate", lambda cfg: gate(cfg, digest), parent_run_id)
