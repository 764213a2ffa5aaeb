"""Components of evaluation: base vs fine-tuned vs champion on the held-out split, then the eval gate."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Metrics, Model, Output

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def evaluate_op(
    config: str,
    parent_run_id: str,
    split_summary: str,
    model: Input[Model],
    test: Input[Dataset],
    metrics: Output[Metrics],
    report: Output[HTML],
    markdown: Output[Markdown],
) -> str:
    """Base, fine-tuned and champion on the same test rows: metrics with intervals, gate decision, report."""
    import json
    import shutil
    from pathlib import Path

    from tunepipe.components.runtime import run_stage
    from tunepipe.evaluation.evaluate import evaluate, logged_metrics

    def body(cfg):
        return {**evaluate(cfg, model.path, test.path, report.path), "split": json.loads(split_summary)}

    result = json.loads(run_stage(config, "evaluate", body, parent_run_id))
    for name, value in logged_metrics(result).items():
        metrics.log_metric(name, value)
    md = Path(report.path).with_suffix(".md")
    if md.is_file():
        shutil.copyfile(md, markdown.path)
    return json.dumps(result)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def eval_gate_op(config: str, parent_run_id: str, eval_summary: str) -> bool:
    """Compare the metrics with the configured thresholds; a failing candidate is never registered.

    A single bool output: the kfp local runner resolves dsl.If only on single outputs.
    """
    import json

    from tunepipe.components.runtime import run_stage
    from tunepipe.evaluation.gate import eval_gate

    summary = run_stage(config, "eval_gate", lambda cfg: eval_gate(cfg, json.loads(eval_summary)), parent_run_id)
    return bool(json.loads(summary)["passed"])
