"""Components of evaluation: base vs fine-tuned on the held-out split, then the eval gate."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Metrics, Model, Output

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
) -> str:
    """Loss and ROUGE-L of the base and the fine-tuned model on the test split."""
    import json

    from tunepipe.components.runtime import run_stage
    from tunepipe.evaluation.evaluate import evaluate

    def body(cfg):
        return {**evaluate(cfg, model.path, test.path, report.path), "split": json.loads(split_summary)}

    result = json.loads(run_stage(config, "evaluate", body, parent_run_id))
    for who in ("base", "candidate"):
        for name, value in result[who].items():
            metrics.log_metric(f"{who}_{name}", float(value))
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
