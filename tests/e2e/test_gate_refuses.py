"""A run whose eval gate fails leaves nothing behind: no registered model, version or alias, no served endpoint."""

import pytest

from tests.e2e.conftest import client as _client, tunepipe as _tunepipe, write_config as _write_config

pytestmark = pytest.mark.slow

REFUSED = "gate-refused"


def _stage_runs(client, parent_id: str) -> set[str]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    return {r.info.run_name for r in runs}


def test_a_failing_gate_registers_and_serves_nothing(first_run, project):
    root, data, model_dir = project
    config = _write_config(root, data, model_dir, name="config-gate-refuses.yaml", registry__model_name=REFUSED,
                           evaluation__gate={"min_value": {"rouge_l": 1.01}})
    result = _tunepipe("run", str(config), cwd=root)
    out = result.stdout + result.stderr
    assert "eval gate        FAILED" in out, out[-4000:]
    assert "rouge_l" in out and "1.01" in out
    assert "registered       nothing" in out
    assert "served answer" not in out

    client = _client(root)
    assert client.search_registered_models(f"name = '{REFUSED}'") == []
    assert client.search_model_versions(f"name = '{REFUSED}'") == []
    parents = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                 filter_string="attributes.run_name LIKE 'pipeline-%'",
                                 order_by=["attributes.start_time DESC"], max_results=1)
    stages = _stage_runs(client, parents[0].info.run_id)
    assert {"evaluate", "eval_gate"} <= stages, stages
    assert not stages & {"register", "serve_smoke", "deploy_staging"}, stages
