"""The demo data: generated deterministically, and ingest -> clean -> dedup -> split over it adds up."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tunepipe import artifacts
from tunepipe.data_quality.clean import clean_records
from tunepipe.data_quality.dedup import deduplicate
from tunepipe.data_quality.ingest import ingest
from tunepipe.data_quality.split import split_dataset
from tunepipe.digest import pandas_digest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = EXAMPLES / "data" / "support.jsonl"
MALFORMED = {"bad_chat_roles": 2, "empty_text": 2, "malformed_json": 4, "missing_field": 2,
             "unknown_shape": 1, "wrong_type": 2}


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_data", EXAMPLES / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_file_is_the_generator_output(tmp_path, capsys):
    gen = load_generator()
    out = tmp_path / "support.jsonl"
    gen.main(["--seed", "7", "--n", "3000", "--out", str(out)])
    assert out.read_bytes() == DATA.read_bytes()
    summary = json.loads(capsys.readouterr().out)
    assert summary["lines"] == 3000 and summary["malformed"] == sum(MALFORMED.values())
    assert summary["exact_duplicates"] == summary["near_duplicates"] == 90
    assert summary["distinct_base_lines"] == summary["base_records"]


def test_pipeline_stages_over_demo_data(spark, tmp_path, make_cfg):
    import mlflow

    cfg = make_cfg([DATA])
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        ing = ingest(cfg, str(tmp_path / "records"), str(tmp_path / "quarantine"))
        cln = clean_records(cfg, str(tmp_path / "records"), str(tmp_path / "clean"), str(tmp_path / "rm1"))
        ded = deduplicate(cfg, str(tmp_path / "clean"), str(tmp_path / "dedup"), str(tmp_path / "rm2"))
        digest = pandas_digest(artifacts.read_parquet_dir(tmp_path / "dedup"))
        spl = split_dataset(cfg, str(tmp_path / "dedup"), *(str(tmp_path / s) for s in ("tr", "va", "te")), digest)

    assert ing["input_rows"] == 3000 and ing["quarantine_reasons"] == MALFORMED
    assert ing["valid_rows"] == 3000 - 13
    assert cln["input_rows"] == ing["valid_rows"] and cln["filtered"] == {}
    assert ded["input_rows"] == cln["kept"]
    assert ded["kept"] + ded["exact_duplicates"] + ded["near_duplicates"] == ded["input_rows"]
    assert ded["exact_duplicates"] == 90 and 0 < ded["near_duplicates"] <= 90
    assert spl["train"] + spl["validation"] + spl["test"] == ded["kept"]
    assert spl["train"] > 0.7 * ded["kept"] and spl["test"] > 0.05 * ded["kept"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    metrics = mlflow.MlflowClient(tracking_uri=uri).get_run(run.info.run_id).data.metrics
    assert metrics["ingest.quarantined"] == 13 and metrics["ingest.quarantine_reasons.malformed_json"] == 4
    assert metrics["clean.kept"] == cln["kept"] and metrics["split.test_rows"] == spl["test"]


def test_small_generation_keeps_the_mix_and_depends_on_the_seed():
    gen = load_generator()
    lines, summary = gen.generate(3, 400)
    assert summary["lines"] == len(lines) == 400 and summary["malformed"] == 13
    assert gen.generate(3, 400)[0] == lines and gen.generate(4, 400)[0] != lines
    assert all(count > 0 for count in summary["base_shapes"].values())
