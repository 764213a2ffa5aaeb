"""`tunepipe prepare`: every data stage into one directory, with accounting that adds up per source."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tunepipe.cli import app

QUESTIONS = [
    "How do I reset my password on the web portal after it expired last week",
    "Where can I download the invoices for our team account from last quarter",
    "Why does the mobile app crash when I upload a large photo from the gallery",
    "Can I move my subscription to another workspace without losing any history",
    "What happens to shared folders when an administrator deactivates a member",
    "How long do you keep deleted files in the recycle bin before purging them",
]


def _rows() -> list:
    rows = [{"prompt": q, "completion": f"Answer {i}: follow the steps in the help centre article {i}."}
            for i, q in enumerate(QUESTIONS)]
    rows += [rows[0], rows[1]]
    rows.append({"prompt": QUESTIONS[2], "completion": rows[2]["completion"] + " Thanks"})
    rows += ['{"prompt": "truncated', {"prompt": 42, "completion": "x"}, {"prompt": "ok?", "completion": "?"}]
    return rows


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("prepare")
    data = tmp / "data"
    data.mkdir()
    lines = [r if isinstance(r, str) else json.dumps(r) for r in _rows()]
    (data / "tickets.jsonl").write_text("\n".join(lines) + "\n")
    pd.DataFrame({"question": ["Is there an API rate limit for the reporting endpoints we use nightly"],
                  "contexts": ["The reporting API allows 600 requests per minute per workspace."],
                  "answer": ["Yes, 600 requests per minute."]}).to_csv(data / "rag.csv", index=False)
    cfg = {
        "project": {"name": "prep-test", "data_dir": str(tmp / "project")},
        "data": {"paths": [str(data)], "max_quarantine_rate": 0.5},
        "model": {"base": str(tiny_model_dir)},
        "split": {"train": 0.6, "validation": 0.2, "test": 0.2},
    }
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["prepare", str(tmp / "cfg.yaml"), "--out", str(tmp / "out"),
                                      "--set", "dedup.report_clusters=3"])
    assert result.exit_code == 0, result.output
    return tmp / "out", result.output


def test_accounting_adds_up_per_source_and_is_printed(prepared):
    out, output = prepared
    summary = json.loads((out / "prepare_summary.json").read_text())
    tickets = next(v for k, v in summary["per_source"].items() if k.endswith("tickets.jsonl"))
    assert tickets["input"] == 12 and tickets["quarantined"] == 2
    assert tickets["quarantine_reasons"] == {"malformed_json": 1, "wrong_type": 1}
    assert tickets["exact_duplicates"] == 2 and tickets["near_duplicates"] == 1
    assert tickets["input"] == (tickets["kept"] + tickets["quarantined"] + tickets["filtered"]
                                + tickets["exact_duplicates"] + tickets["near_duplicates"])
    assert summary["total"]["balanced"] and summary["total"]["input"] == 13
    assert sum(summary["splits"].values()) == summary["total"]["kept"]
    assert "Row accounting" in output and "TOTAL" in output


def test_outputs_nemo_files_data_card_and_removed_rows(prepared):
    out, _ = prepared
    summary = json.loads((out / "prepare_summary.json").read_text())
    nemo_rows = sum(len((out / "nemo" / f).read_text().splitlines())
                    for f in ("training.jsonl", "validation.jsonl", "test.jsonl"))
    assert nemo_rows == summary["total"]["kept"]
    html = (out / "data_card.html").read_text()
    assert "data:image/png;base64," in html and summary["digest"] in html
    removed = pd.read_parquet(out / "removed" / "dedup")
    assert sorted(removed["reason"]) == ["exact_duplicate", "exact_duplicate", "near_duplicate"]


def test_data_card_is_logged_to_mlflow_with_log_input(prepared):
    import mlflow

    out, _ = prepared
    summary = json.loads((out / "prepare_summary.json").read_text())
    project = out.parent / "project"
    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    run = client.search_runs(experiments, filter_string="tags.`tunepipe.stage` = 'prepare'")[0]
    assert run.data.tags["tunepipe.prepared_digest"] == summary["digest"]
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] == [summary["digest"][:16]]
    assert {a.path for a in client.list_artifacts(run.info.run_id, "data_card")} == {
        "data_card/data_card.html", "data_card/data_card.md"}
