"""One place that builds the Spark session from config: local[*], a master URL, or Spark Connect.

With `spark.remote` set (or, in a local run, the shared server's URL in `TUNEPIPE_SPARK_REMOTE`, see
`connect_server`), a reachability check first turns a wrong URL or a server that is down into
a clear error: the Connect client itself retries silently for many minutes.

Stages run unchanged over Spark Connect if they keep to the DataFrame API (no RDDs, no
sparkContext) and create UDFs inside the stage function, after `get_spark`: PySpark decides between
a classic and a Connect UDF when the UDF object is made, so a module-level `@F.pandas_udf` (made at
import, before any session) is classic and fails over Connect with SESSION_OR_CONTEXT_NOT_EXISTS.
"""

from __future__ import annotations

import os
import socket
import sys

from tunepipe.config import Config
from tunepipe.data_quality.connect_server import REMOTE_ENV
from tunepipe.errors import TunepipeError

CONNECT_TIMEOUT_S = 10.0


def get_spark(cfg: Config, app_name: str = "tunepipe"):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    from pyspark.sql import SparkSession

    remote = cfg.spark.remote or os.environ.get(REMOTE_ENV)
    builder = SparkSession.builder.appName(app_name)
    if remote:
        check_connect_server(remote)
        builder = builder.remote(remote)
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
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_connect_server(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a TunepipeError unless `url` is an sc:// URL whose host accepts TCP connections."""
    from pyspark.errors import PySparkValueError
    from pyspark.sql.connect.client import DefaultChannelBuilder

    try:
        endpoint = DefaultChannelBuilder(url).endpoint
    except (PySparkValueError, ValueError) as err:
        raise TunepipeError(
            f"spark.remote={url!r} is not a Spark Connect URL ({err}). Use sc://HOST:PORT, for example "
            "sc://spark-connect.tunepipe.svc:15002, or remove spark.remote to run Spark in local mode."
        ) from None
    host, _, port = endpoint.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise TunepipeError(
            f"no Spark Connect server answers at {endpoint} (spark.remote={url}): "
            f"{err.strerror or err}. Start one (infra/k8s/spark-connect, or "
            "$SPARK_HOME/sbin/start-connect-server.sh), fix spark.remote, or remove it to run Spark "
            "in local mode."
        ) from None

