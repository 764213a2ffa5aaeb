"""Evaluation -> registration -> promotion: a version registered from an evaluation result is promotable,
the next evaluation compares with it as champion, and a deleted champion is refused."""

from __future__ import annotations

import pytest

NAME = "eval-tiny"


@pytest.fixture(scope="module")
def chain(workspace, make_cfg, tmp_path_factory):
    from tunepipe.governance import approval

    root, _, model_dir, test_dir = workspace
    cfg = make_cfg(tmp_path_factory.mktemp("reg"), registry={"model_name": NAME},
                   evaluation={"gate": {"min_gain": {"loss": -100.0}}})
    digest = "e" * 64
    approval.approve(cfg, digest, "alice", "fixture data")
    lineage = {"dataset_digest": digest, "approval_reviewer": "alice", "pipeline_run_id": "p-1",
               "git_commit": "abc", "config_digest": "c" * 16, "training_run_id": "t-1"}
    return cfg, model_dir, test_dir, lineage


def _evaluate_and_register(chain, tmp_path):
    from tunepipe.evaluation.evaluate import evaluate
    from tunepipe.registry.register import register_model
    from tunepipe.tracking import stage_run

    cfg, model_dir, test_dir, lineage = chain
    with stage_run(cfg, "evaluate") as run:
        result = evaluate(cfg, model_dir, test_dir, str(tmp_path / "eval.html"))
    result["mlflow_run_id"] = run.info.run_id
    return result, register_model(cfg, model_dir, result, lineage)


def test_registered_versions_carry_the_eval_tags_and_promote_against_the_champion(chain, tmp_path):
    from tunepipe import tracking
    from tunepipe.registry import promotion

    cfg = chain[0]
    first, reg1 = _evaluate_and_register(chain, tmp_path / "1")
    client = tracking.client(cfg)
    tags = client.get_model_version(NAME, reg1["version"]).tags
    assert tags["tunepipe.eval.gate"] == "passed" and tags["tunepipe.eval.champion_version"] == promotion.NONE
    assert tags["tunepipe.eval.test_digest"] == first["test"]["digest"]
    assert tags["tunepipe.eval.run_id"] == first["mlflow_run_id"]
    assert float(tags["tunepipe.eval.loss"]) == pytest.approx(first["metrics"]["candidate"]["loss"]["value"], rel=1e-3)
    assert "Comparison with base and champion" in client.get_model_version(NAME, reg1["version"]).description
    promotion.promote(cfg, NAME, reg1["version"], "bob", "first champion")

    second, reg2 = _evaluate_and_register(chain, tmp_path / "2")
    assert second["models"]["champion"] == {"ref": f"{NAME} v1", "version": "1", "cached": False}
    assert "compared with base and with the champion" in second["champion_note"]
    vs = second["deltas"]["candidate-champion"]["loss"]
    assert vs["value"] == pytest.approx(0.0, abs=1e-6), "the champion is the same weights as the candidate"
    tags = client.get_model_version(NAME, reg2["version"]).tags
    assert tags["tunepipe.eval.champion_version"] == "1" and tags["tunepipe.eval.loss.vs_champion"].startswith("+0 [")
    promotion.promote(cfg, NAME, reg2["version"], "bob", "second")
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == reg2["version"]

    assert _evaluate_only(chain, tmp_path / "3")["models"]["champion"]["cached"] is False
    assert _evaluate_only(chain, tmp_path / "3")["models"]["champion"]["cached"] is True, "versions' scores are cached"

    client.delete_model_version(NAME, reg2["version"])
    from tunepipe.errors import TunepipeError

    with pytest.raises(TunepipeError, match=rf"the champion of {NAME} \(v2, promote by bob .*was deleted"):
        _evaluate_only(chain, tmp_path / "4")


def _evaluate_only(chain, tmp_path):
    from tunepipe.evaluation.evaluate import evaluate

    cfg, model_dir, test_dir, _ = chain
    return evaluate(cfg, model_dir, test_dir, str(tmp_path / "eval.html"))
