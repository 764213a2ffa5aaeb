"""What a registered version carries of its evaluation: the tags promotion and `models list` read, and the card.

`tunepipe.eval.gate` (passed | failed | undecidable), `.run_id`, `.champion_version` (the version compared
with, or `none`), `.test_digest`, `.<metric>` (the candidate's value) and `.<metric>.vs_champion` (its change
against that champion, with the 95% interval).
"""

from __future__ import annotations

from tunepipe.tracking import flatten_metrics

PREFIX = "tunepipe.eval."
NONE = "none"


def is_contract(result: dict) -> bool:
    return "gate" in result and "deltas" in result and isinstance(result.get("metrics"), dict)


def eval_tags(result: dict) -> dict[str, str]:
    if not is_contract(result):
        return {}
    gate, champion = result["gate"], result["models"].get("champion")
    tags = {
        f"{PREFIX}gate": "passed" if gate["passed"] else ("failed" if gate.get("decidable", True) else "undecidable"),
        f"{PREFIX}run_id": result.get("mlflow_run_id", ""),
        f"{PREFIX}champion_version": champion["version"] if champion else NONE,
        f"{PREFIX}test_digest": result["test"]["digest"],
    }
    for metric, entry in result["metrics"].get("candidate", {}).items():
        if entry.get("value") is not None:
            tags[f"{PREFIX}{metric}"] = f"{entry['value']:.4g}"
    for metric, d in result["deltas"].get("candidate-champion", {}).items():
        tags[f"{PREFIX}{metric}.vs_champion"] = f"{d['value']:+.4g} [{d['low']:+.4g}, {d['high']:+.4g}]"
    return tags


def metric_tags(result: dict, prefix: str) -> dict[str, str]:
    """`<prefix>metric.<model>.<metric>` of each value (older, flat results: every numeric leaf)."""
    if not is_contract(result):
        return {f"{prefix}metric.{k}": f"{v:.6g}" for k, v in flatten_metrics(result).items()}
    return {f"{prefix}metric.{model}.{metric}": f"{e['value']:.6g}" for model, table in result["metrics"].items()
            for metric, e in table.items() if e.get("value") is not None}


def card_section(result: dict) -> list[str]:
    """Markdown lines of the comparison for the model card (empty for older, flat results)."""
    from tunepipe.evaluation.report import model_card_section

    return model_card_section(result).splitlines() if is_contract(result) else []
