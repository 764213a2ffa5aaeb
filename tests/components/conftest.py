"""The components called through `python_func` (as kubeflow/pipelines-components tests them): the real
stage functions on a small generated dataset, a real Spark session, a real SQLite MLflow store.

`chain` runs ingest -> clean -> dedup -> data card -> PII -> review -> approval gate -> split once per
session, each step reading the previous one's outputs as KFP would hand them over; the tests of each
component module assert on their own step's outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

REPO = Path(__file__).resolve().parents[2]


def artifact(root: Path, name: str, kind: str = "Dataset"):
    from kfp import dsl

    return getattr(dsl, kind)(name=name, uri=str(root / name))


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """(root, config) on generated demo data with the tiny model; approval in stop mode."""
    from tunepipe.config import Config
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("components")
    data = root / "support.jsonl"
    subprocess.run([sys.executable, str(REPO / "examples/generate_data.py"), "--seed", "5", "--n", "160",
                    "--out", str(data)], check=True, capture_output=True)
    model = build_tiny_model(str(root / "tiny-model"))
    cfg = Config.model_validate({
        "data": {"paths": [str(data)], "max_quarantine_rate": 0.2},
        "project": {"data_dir": str(root / ".tunepipe")},
        "model": {"base": model, "max_seq_len": 128},
        "approval": {"mode": "stop"},
        "training": {"max_steps": 2, "batch_size": 4},
        "serving": {"max_new_tokens": 4},
    })
    return root, cfg


@pytest.fixture(scope="session")
def parent_run(project):
    from tunepipe.tracking import start_pipeline_run

    _, cfg = project
    return start_pipeline_run(cfg, "components-test", params={})


@pytest.fixture(scope="session")
def chain(project, parent_run):
    """Every data-side component once, in pipeline order: {step: (summary dict, {output: artifact})}."""
    from tunepipe.components.data import clean_op, data_card_op, dedup_op, ingest_op, split_op
    from tunepipe.components.governance import approval_gate_op
    from tunepipe.components.pii import pii_op
    from tunepipe.components.review import review_op
    from tunepipe.errors import TunepipeError
    from tunepipe.governance.approval import approve

    root, cfg = project
    config, out = cfg.to_json(), {}
    a = lambda name, kind="Dataset": artifact(root, name, kind)  # noqa: E731
    ing = {"records": a("records"), "quarantine": a("quarantine")}
    out["ingest"] = (json.loads(ingest_op.python_func(config=config, data_fingerprint="f", **ing)), ing)
    cln = {"cleaned": a("cleaned"), "removed": a("removed-clean")}
    out["clean"] = (json.loads(clean_op.python_func(config=config, records=ing["records"], **cln)), cln)
    ded = {"deduped": a("deduped"), "removed": a("removed-dedup")}
    out["dedup"] = (json.loads(dedup_op.python_func(config=config, cleaned=cln["cleaned"], **ded)), ded)
    summaries = {f"{k}_summary": json.dumps(out[k][0]) for k in ("ingest", "clean", "dedup")}
    card = {"card": a("card.html", "HTML"), "card_md": a("card.md", "Markdown")}
    out["data_card"] = (json.loads(data_card_op.python_func(
        config=config, parent_run_id=parent_run, dataset=ded["deduped"], **summaries, **card)), card)
    pii = {"redacted": a("redacted"), "removed": a("removed-pii")}
    out["pii"] = (json.loads(pii_op.python_func(config=config, cleaned=ded["deduped"], **pii)), pii)
    rev = {"report": a("review.html", "HTML"), "report_md": a("review.md", "Markdown")}
    review = review_op.python_func(config=config, parent_run_id=parent_run, pii_summary=json.dumps(out["pii"][0]),
                                   redacted=pii["redacted"], **summaries, **rev)
    out["review"] = (json.loads(review.summary), {**rev, "digest": review.digest})
    try:
        approval_gate_op.python_func(config=config, parent_run_id=parent_run, digest=review.digest)
        out["gate_before_approval"] = None
    except TunepipeError as err:
        out["gate_before_approval"] = str(err)
    approve(cfg, review.digest, "component-test-reviewer", "read the report")
    out["gate"] = (json.loads(approval_gate_op.python_func(config=config, parent_run_id=parent_run,
                                                           digest=review.digest)), {})
    spl = {name: a(name) for name in ("train", "validation", "test", "nemo")}
    out["split"] = (json.loads(split_op.python_func(config=config, approved_digest=review.digest,
                                                    dataset=pii["redacted"], **spl)), spl)
    return out
