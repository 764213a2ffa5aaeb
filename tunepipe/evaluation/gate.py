"""The eval gate: the candidate is registered only if every check in evaluation.gate passes.

Checks, on any metric the evaluation computed (a gain is positive when the candidate is better, so for loss
and perplexity it is the reference's value minus the candidate's):
- `min_gain`: the 95% paired-bootstrap interval's lower bound of the gain over base >= threshold;
- `max_regression_vs_champion`: the lower bound of the gain over the champion >= -margin (skipped, and said,
  on a first run);
- `min_value` / `max_value`: the candidate's own value against an absolute floor / ceiling.
A check whose metric was not computed (unknown name, no RAG rows, judge unreachable) is undecidable: the
gate does not pass, and the decision says which metric and why, so nothing is registered on it.

mlflow.validate_evaluation_results with MetricThreshold was considered and not used: it compares point
values only (no intervals, so no lower-bound gain) and raises on the first failing metric, while the
decision here must name every check with its value, interval and threshold.
"""

from __future__ import annotations

from tunepipe.config import Config
from tunepipe.evaluation.metrics import LOWER_IS_BETTER

CANDIDATE = "candidate"


def decide(cfg: Config, result: dict, model: str = CANDIDATE) -> dict:
    """{"passed", "decidable", "reasons", "checks"}: every check with its value, interval and threshold."""
    gate = cfg.evaluation.gate
    has_champion = result["models"].get("champion") is not None
    checks = [_gain_check(result, model, m, "base", t, "min_gain") for m, t in gate.min_gain.items()]
    for metric, margin in gate.max_regression_vs_champion.items():
        checks.append(_gain_check(result, model, metric, "champion", -margin, "max_regression_vs_champion")
                      if has_champion else _skipped(metric, margin))
    checks += [_value_check(result, model, m, ">=", t, "min_value") for m, t in gate.min_value.items()]
    checks += [_value_check(result, model, m, "<=", t, "max_value") for m, t in gate.max_value.items()]
    undecided = [c for c in checks if c["passed"] is None and not c.get("skipped")]
    failed = [c for c in checks if c["passed"] is False]
    return {"passed": not undecided and not failed, "decidable": not undecided, "model": model,
            "reasons": [c["reason"] for c in undecided + failed], "checks": checks}


def _gain(metric: str, delta: dict) -> tuple[float, float, float]:
    if metric in LOWER_IS_BETTER:
        return -delta["value"], -delta["high"], -delta["low"]
    return delta["value"], delta["low"], delta["high"]


def _not_computed(result: dict, model: str, metric: str) -> str:
    entry = result["metrics"].get(model, {}).get(metric)
    computed = sorted(k for k, v in result["metrics"].get(model, {}).items() if v.get("value") is not None)
    why = entry["reason"] if entry and entry.get("reason") else "no such metric in this evaluation"
    return (f"gate metric {metric} was not computed ({why}); computed: {', '.join(computed)}. The gate cannot "
            f"decide, so nothing is registered: fix evaluation.gate or what the metric needs")


def _gain_check(result: dict, model: str, metric: str, against: str, threshold: float, kind: str) -> dict:
    name = f"gain of {metric} over {against} (95% lower bound)"
    check = {"name": name, "kind": kind, "metric": metric, "against": against, "op": ">=", "threshold": threshold,
             "value": None, "low": None, "high": None, "n": 0}
    delta = result["deltas"].get(f"{model}-{against}", {}).get(metric)
    if delta is None:
        return {**check, "passed": None, "reason": _not_computed(result, model, metric)}
    value, low, high = _gain(metric, delta)
    passed = low >= threshold
    reason = None if passed else (
        f"{name}: {low:+.4f} (gain {value:+.4f}, interval [{low:+.4f}, {high:+.4f}], n={delta['n']}) is not "
        f">= {threshold:g} (evaluation.gate.{kind}.{metric})")
    return {**check, "value": value, "low": low, "high": high, "n": delta["n"], "passed": passed, "reason": reason}


def _skipped(metric: str, margin: float) -> dict:
    return {"name": f"gain of {metric} over champion (95% lower bound)", "kind": "max_regression_vs_champion",
            "metric": metric, "against": "champion", "op": ">=", "threshold": -margin, "value": None, "low": None,
            "high": None, "n": 0, "passed": None, "skipped": True,
            "reason": "no champion yet (first run): not checked"}


def _value_check(result: dict, model: str, metric: str, op: str, threshold: float, kind: str) -> dict:
    name = f"{model} {metric}"
    entry = result["metrics"].get(model, {}).get(metric) or {}
    check = {"name": name, "kind": kind, "metric": metric, "against": None, "op": op, "threshold": threshold,
             "value": entry.get("value"), "low": None, "high": None, "n": entry.get("n", 0)}
    if entry.get("value") is None:
        return {**check, "passed": None, "reason": _not_computed(result, model, metric)}
    value = entry["value"]
    passed = value >= threshold if op == ">=" else value <= threshold
    reason = None if passed else (f"{name} {value:.4f} (n={entry['n']}) is not {op} {threshold:g} "
                                  f"(evaluation.gate.{kind}.{metric})")
    return {**check, "passed": passed, "reason": reason}


def eval_gate(cfg: Config, evaluation: dict) -> dict:
    """The gate's decision on an evaluation result, logged to the active MLflow run."""
    result = decide(cfg, evaluation)
    _log(result)
    return result


def _log(result: dict) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    mlflow.log_metric("gate_passed", float(result["passed"]))
    mlflow.log_metric("gate_decidable", float(result["decidable"]))
    mlflow.set_tag("tunepipe.eval_gate", "passed" if result["passed"] else
                   ("failed" if result["decidable"] else "undecidable"))
    if result["reasons"]:
        mlflow.set_tag("tunepipe.eval_gate_reasons", "; ".join(result["reasons"])[:5000])
    mlflow.log_dict(result, "gate.json")
