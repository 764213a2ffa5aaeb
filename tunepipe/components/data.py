"""Components of the Spark data stages: ingest + validate, clean + filter, dedup, data card, split + export."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Output

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def ingest_op(config: str, data_fingerprint: str, records: Output[Dataset], quarantine: Output[Dataset]) -> str:
    """Read raw files, validate every row, quarantine bad rows with a reason."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.ingest import ingest
    from tunepipe.pii.examples import SENSITIVE

    quarantine.metadata.update(SENSITIVE)
    return run_stage(config, "ingest", lambda cfg: ingest(cfg, records.path, quarantine.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def clean_op(config: str, records: Input[Dataset], cleaned: Output[Dataset], removed: Output[Dataset]) -> str:
    """Normalise text and apply the quality filters; filtered rows go to `removed` with their reason."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.clean import clean_records

    return run_stage(config, "clean", lambda cfg: clean_records(cfg, records.path, cleaned.path, removed.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def dedup_op(config: str, cleaned: Input[Dataset], deduped: Output[Dataset], removed: Output[Dataset]) -> str:
    """Drop exact and MinHash near duplicates; group the rest so near-duplicates share a split."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.dedup import deduplicate

    return run_stage(config, "dedup", lambda cfg: deduplicate(cfg, cleaned.path, deduped.path, removed.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def data_card_op(
    config: str,
    parent_run_id: str,
    ingest_summary: str,
    clean_summary: str,
    dedup_summary: str,
    dataset: Input[Dataset],
    card: Output[HTML],
    card_md: Output[Markdown],
) -> str:
    """The data card (HTML + Markdown, token-length histograms), logged to MLflow with log_input."""
    import json

    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.datacard import write_data_card

    summaries = {k: json.loads(v) for k, v in
                 {"ingest": ingest_summary, "clean": clean_summary, "dedup": dedup_summary}.items()}
    return run_stage(config, "data_card",
                     lambda cfg: write_data_card(cfg, dataset.path, summaries, card.path, card_md.path),
                     parent_run_id)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def split_op(
    config: str,
    approved_digest: str,
    dataset: Input[Dataset],
    train: Output[Dataset],
    validation: Output[Dataset],
    test: Output[Dataset],
    nemo: Output[Dataset],
) -> str:
    """Leak-free train/validation/test split of exactly the approved dataset, plus NeMo JSONL files."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.export import export_splits
    from tunepipe.data_quality.split import split_dataset

    def split_and_export(cfg):
        summary = split_dataset(cfg, dataset.path, train.path, validation.path, test.path, approved_digest)
        export = export_splits(cfg, train.path, validation.path, test.path, nemo.path, approved_digest)
        return {**summary, "export": export}

    return run_stage(config, "split", split_and_export)
