"""Responsible-AI screens beside PII: secrets, toxicity, blocked terms (run inside the PII stage)."""
