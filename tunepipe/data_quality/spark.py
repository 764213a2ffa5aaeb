"""One place that builds the Spark session from config: local[*], a master URL, or Spark Connect."""

from __future__ import annotations

import os
import sys

from tunepipe.config import Config


def get_spark(cfg: Config, app_name: str = "tunepipe"):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if cfg.spark.remote:
        builder = builder.remote(cfg.spark.remote)
    else:
        builder = (
            builder.master(cfg.spark.master)
            .config("spark.driver.memory", cfg.spark.driver_memory)
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    for key, value in cfg.spark.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not cfg.spark.remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark
