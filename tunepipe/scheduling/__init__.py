"""Scheduled retraining: KFP recurring runs (recurring), the change decision a run makes from its data's
content (change), webhook notifications (notify) and the per-record cache of the data stages (record_cache)."""
