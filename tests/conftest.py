"""Shared test setup: offline Hugging Face, quiet Spark, a config factory on a temp data dir."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
