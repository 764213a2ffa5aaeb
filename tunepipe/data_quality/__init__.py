"""Spark data stages: ingest and validate, clean and deduplicate, split."""
