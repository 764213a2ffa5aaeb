"""Components of the Spark data stages: ingest + validate, clean + exact dedup, split."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from tunepipe.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def ingest_op(config: str, data_fingerprint: str, records: Output[Dataset], quarantine: Output[Dataset]) -> str:
    """Read raw files, validate every row, quarantine bad rows with a reason."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.ingest import ingest

    return run_stage(config, "ingest", lambda cfg: ingest(cfg, records.path, quarantine.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def clean_op(config: str, records: Input[Dataset], cleaned: Output[Dataset]) -> str:
    """Normalise text, apply quality filters, drop exact duplicates."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.clean import clean_and_dedup

    return run_stage(config, "clean", lambda cfg: clean_and_dedup(cfg, records.path, cleaned.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def split_op(
    config: str,
    approved_digest: str,
    dataset: Input[Dataset],
    train: Output[Dataset],
    validation: Output[Dataset],
    test: Output[Dataset],
) -> str:
    """Deterministic train/validation/test split of exactly the approved dataset."""
    from tunepipe.components.runtime import run_stage
    from tunepipe.data_quality.split import split_dataset

    return run_stage(
        config,
        "split",
        lambda cfg: split_dataset(cfg, dataset.path, train.path, validation.path, test.path, approved_digest),
    )
