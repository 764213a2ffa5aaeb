"""Component of the review stage: the dataset review report and its MLflow review run."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Output

from tunepipe.components.image import IMAGE


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
    from tunepipe.review.report import write_review_report

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
