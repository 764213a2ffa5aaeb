"""PII detection (Presidio + recognizers), redaction policy, the Spark PII stage, `pii scan`, the labelled set."""
