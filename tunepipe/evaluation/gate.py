"""The eval gate: a candidate is registered only if it meets every threshold in evaluation.gate."""

from __future__ import annotations

from tunepipe.config import Config


def eval_gate(cfg: Config, metrics: dict) -> dict:
    """{"passed", "reasons", "checks"}: reasons name each failed threshold with its values."""
    gate = cfg.evaluation.gate
    candidate, base = metrics["candidate"], metrics["base"]
    gain = candidate["rouge_l"] - base["rouge_l"]
    checks = [
        _check("candidate ROUGE-L", candidate["rouge_l"], ">=", gate.min_rouge_l),
        _check("ROUGE-L gain over base", gain, ">=", gate.min_rouge_l_gain),
    ]
    if gate.max_loss is not None:
        checks.append(_check("candidate answer loss", candidate["loss"], "<=", gate.max_loss))
    reasons = [
        f"{c['name']} {c['value']:.4f} is not {c['op']} {c['threshold']:g} (evaluation.gate)"
        for c in checks if not c["passed"]
    ]
    result = {"passed": not reasons, "reasons": reasons, "checks": checks}
    _log(result)
    return result


def _check(name: str, value: float, op: str, threshold: float) -> dict:
    passed = value >= threshold if op == ">=" else value <= threshold
    return {"name": name, "value": round(value, 6), "op": op, "threshold": threshold, "passed": passed}


def _log(result: dict) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    mlflow.log_metric("gate_passed", float(result["passed"]))
    mlflow.set_tag("tunepipe.eval_gate", "passed" if result["passed"] else "failed")
    if result["reasons"]:
        mlflow.set_tag("tunepipe.eval_gate_reasons", "; ".join(result["reasons"])[:5000])
