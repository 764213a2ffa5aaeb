"""tunepipe.components.data through python_func: each step's outputs and summary add up."""

from __future__ import annotations

from pathlib import Path

from tunepipe import artifacts, tracking


def test_ingest_writes_records_and_quarantine_and_counts_every_line(chain):
    summary, outputs = chain["ingest"]
    assert summary["input_rows"] == 160 and summary["valid_rows"] + summary["quarantined"] == 160
    assert summary["quarantined"] > 0 and summary["mlflow_run_id"]
    assert len(artifacts.read_parquet_dir(outputs["records"].path)) == summary["valid_rows"]
    assert len(artifacts.read_parquet_dir(outputs["quarantine"].path)) == summary["quarantined"]


def test_clean_and_dedup_pass_rows_on_and_account_for_the_rest(chain):
    ingest, (clean, clean_out), (dedup, dedup_out) = chain["ingest"][0], chain["clean"], chain["dedup"]
    assert clean["input_rows"] == ingest["valid_rows"]
    assert len(artifacts.read_parquet_dir(clean_out["cleaned"].path)) == clean["kept"]
    assert dedup["input_rows"] == clean["kept"]
    assert dedup["kept"] + dedup["exact_duplicates"] + dedup["near_duplicates"] == dedup["input_rows"]
    assert len(artifacts.read_parquet_dir(dedup_out["deduped"].path)) == dedup["kept"]


def test_data_card_writes_both_reports_and_logs_under_the_parent_run(chain, project, parent_run):
    summary, outputs = chain["data_card"]
    html = open(outputs["card"].path).read()
    assert html.startswith("<!doctype html>") and "data:image/png;base64," in html
    assert open(outputs["card_md"].path).read().startswith("# Data card")
    run = tracking.client(project[1]).get_run(summary["mlflow_run_id"])
    assert run.data.tags["mlflow.parentRunId"] == parent_run


def test_split_writes_three_disjoint_splits_of_the_approved_rows_and_the_nemo_files(chain):
    summary, outputs = chain["split"]
    sizes = {name: len(artifacts.read_parquet_dir(outputs[name].path)) for name in ("train", "validation", "test")}
    assert sum(sizes.values()) == len(artifacts.read_parquet_dir(chain["pii"][1]["redacted"].path))
    assert sizes["train"] == summary["train"] and min(sizes.values()) > 0
    ids = [set(artifacts.read_parquet_dir(outputs[n].path)["record_id"]) for n in sizes]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sorted(p.name for p in Path(outputs["nemo"].path).glob("*.jsonl")) == [
        "test.jsonl", "training.jsonl", "validation.jsonl"]
