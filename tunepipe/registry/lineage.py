"""Lineage of a model version: the data digest, its approval, the runs, the code and the config."""

from __future__ import annotations

from tunepipe.config import Config, config_digest


def build_lineage(cfg: Config, approval: dict, train_summary: dict, pipeline_run_id: str, git_commit: str) -> dict:
    """Tags that let anyone trace a served model back to exactly what produced it."""
    return {
        "dataset_digest": approval.get("digest", ""),
        "approval_status": approval.get("status", ""),
        "approval_reviewer": approval.get("reviewer", ""),
        "approval_time": approval.get("time", ""),
        "approval_run_id": approval.get("review_run_id", ""),
        "training_run_id": train_summary.get("training_run_id") or train_summary.get("mlflow_run_id", ""),
        "pipeline_run_id": pipeline_run_id,
        "git_commit": git_commit or "unknown",
        "config_digest": config_digest(cfg),
        "base_model": cfg.model.base,
    }
