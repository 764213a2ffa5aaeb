"""Responsible-AI stages: Presidio PII redaction, the dataset review report, approvals in MLflow."""
