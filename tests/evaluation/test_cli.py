"""`tunepipe evaluate` on the tiny models: the report and table, and each bad input's one-line message."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from tunepipe.cli import app


@pytest.fixture()
def config_file(workspace, tmp_path):
    def _write(**evaluation):
        raw = {"data": {"paths": ["unused.jsonl"]}, "project": {"data_dir": str(tmp_path / "data")},
               "model": {"base": workspace[1], "max_seq_len": 64},
               "evaluation": {"max_samples": 4, "max_new_tokens": 4, "batch_size": 4, **evaluation}}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(raw))
        return str(path)
    return _write


def _run(*args):
    result = CliRunner().invoke(app, ["evaluate", *args])
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_evaluates_a_local_model_dir_and_a_gate_metric_not_computed_is_undecidable(workspace, config_file, tmp_path):
    cfg = config_file(gate={"min_gain": {"ragas.faithfulness": 0.1}})
    result, out = _run(cfg, "--model", workspace[2], "--test", workspace[3], "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, out
    assert "fine-tuned - base" in out and "first run" in out
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "evaluation.json").is_file()
    assert "NOT PASSED" in out and "gate metric ragas.faithfulness was not computed" in out
    assert "nothing is registered" in out


def test_every_model_gets_its_own_gate_decision(workspace, config_file, tmp_path):
    import json

    cfg = config_file(gate={"min_gain": {}, "max_value": {"loss": 1e9}})
    result, out = _run(cfg, "--model", workspace[2], "--model", workspace[1], "--test", workspace[3],
                       "--out", str(tmp_path / "two"))
    assert result.exit_code == 0, out
    assert f"eval gate        candidate ({workspace[2]}): passed" in out
    assert f"eval gate        candidate2 ({workspace[1]}): passed" in out
    gates = json.loads((tmp_path / "two" / "evaluation.json").read_text())["gates"]
    assert sorted(gates) == ["candidate", "candidate2"] and gates["candidate2"]["model"] == "candidate2"


def test_an_empty_test_split_says_so(workspace, config_file, tmp_path):
    import pandas as pd

    empty = tmp_path / "empty"
    empty.mkdir()
    pd.DataFrame({"prompt": pd.Series(dtype=str), "response": pd.Series(dtype=str)}).to_parquet(empty / "p.parquet")
    result, out = _run(config_file(), "--model", workspace[2], "--test", str(empty))
    assert result.exit_code == 1 and "the test split" in out and "is empty: raise split.test or add data" in out


def test_rows_longer_than_the_context_say_what_to_raise(workspace, config_file):
    long_system_prompt = "model.system_prompt=" + " ".join(["You answer questions about coloured items."] * 8)
    result, out = _run(config_file(), "--model", workspace[2], "--test", workspace[3], "--set", "model.max_seq_len=16",
                       "--set", long_system_prompt)
    assert result.exit_code == 1 and "no test row fits model.max_seq_len=16" in out and "raise model.max_seq_len" in out


def test_no_test_split_configured(workspace, config_file):
    result, out = _run(config_file(), "--model", workspace[2])
    assert result.exit_code == 1 and "pass --test DIR" in out
