"""Resume for real: a training process SIGKILLed after a checkpoint continues from it when started again,
finishes at max_steps and logs to the same MLflow run; a checkpoint from another config is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tunepipe import tracking
from tunepipe.errors import TunepipeError
from tunepipe.training.checkpoint import RUN_FILE, latest_checkpoint, plan_resume, step_of

MAX_STEPS = 30
CHILD = """
import json, sys
from tunepipe.config import Config
from tunepipe.tracking import stage_run
from tunepipe.training.peft_backend import finetune

cfg = Config.from_json(open(sys.argv[1]).read())
train_dir, val_dir, out_dir, digest, result_path = sys.argv[2:7]
with stage_run(cfg, "finetune"):
    result = finetune(cfg, train_dir, val_dir, out_dir, digest)
open(result_path, "w").write(json.dumps(result))
"""


def _start(root, name: str, splits) -> subprocess.Popen:
    train_dir, val_dir, digest = splits
    log = open(root / f"{name}.log", "w")
    args = [str(root / "cfg.json"), train_dir, val_dir, str(root / "model"), digest, str(root / f"{name}.json")]
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=log, stderr=subprocess.STDOUT)


def _kill_after_first_checkpoint(proc: subprocess.Popen, checkpoints, timeout_s: float = 600) -> int:
    deadline = time.monotonic() + timeout_s
    while latest_checkpoint(checkpoints) is None:
        assert proc.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    return step_of(latest_checkpoint(checkpoints))


@pytest.fixture(scope="module")
def killed(tmp_path_factory, data_dir, make_cfg, approver, splits):
    """(cfg, root, step): a training run SIGKILLed after its first checkpoint; `step` is its last one."""
    root = tmp_path_factory.mktemp("resume")
    cfg = make_cfg(data_dir, training={
        "max_steps": MAX_STEPS, "checkpoint_every": 3, "checkpoint_dir": str(root / "checkpoints"),
        "system_metrics_interval_s": None,
    })
    approver(cfg, splits[2])
    (root / "cfg.json").write_text(cfg.to_json())
    step = _kill_after_first_checkpoint(_start(root, "first", splits), root / "checkpoints")
    return cfg, root, step


def test_a_killed_run_continues_from_its_checkpoint_in_the_same_mlflow_run(killed, splits):

    _, root, step = killed
    run_id = json.loads((root / "checkpoints" / RUN_FILE).read_text())["mlflow_run_id"]
    assert 3 <= step < MAX_STEPS and not (root / "first.json").exists()
    assert _start(root, "second", splits).wait(timeout=600) == 0, (root / "second.log").read_text()[-3000:]
    result = json.loads((root / "second.json").read_text())
    assert result["resumed_from_step"] == step and result["steps"] == MAX_STEPS
    assert result["training_run_id"] == run_id
    assert f"resuming from {root / 'checkpoints' / f'checkpoint-{step}'}" in (root / "second.log").read_text()

    client = tracking.client(killed[0])
    logged = [m.step for m in client.get_metric_history(run_id, "train_loss")]
    assert set(logged) == set(range(1, MAX_STEPS + 1))
    assert all(logged.count(s) == 1 for s in range(1, step + 1)), "steps before the checkpoint were trained again"
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["tunepipe.resumed_from_step"] == str(step)
    assert run.data.metrics["val_loss"] == pytest.approx(result["val_loss"])
    restart = client.search_runs([run.info.experiment_id], f"tags.`tunepipe.continues_run_id` = '{run_id}'")
    assert len(restart) == 1 and restart[0].info.run_id != run_id


def test_a_checkpoint_from_a_different_config_is_refused(killed, splits, no_weights):
    from tunepipe.training.peft_backend import finetune

    cfg, root, _ = killed
    changed = cfg.model_copy(deep=True)
    changed.training.lora.r = 16
    train_dir, val_dir, digest = splits
    with pytest.raises(TunepipeError) as err:
        finetune(changed, train_dir, val_dir, str(root / "other-model"), digest)
    message = str(err.value)
    assert "different config" in message and "training.lora.r: 8 -> 16" in message
    assert "training.resume=never" in message and not (root / "other-model").exists()


def test_resume_plans(tmp_path, make_cfg):
    done, cut_short = tmp_path / "checkpoint-4", tmp_path / "checkpoint-8"
    done.mkdir(), cut_short.mkdir()
    (done / "trainer_state.json").write_text("{}")
    (cut_short / "trainer_state.json").write_text('{"global_st')
    (tmp_path / RUN_FILE).write_text(json.dumps({"mlflow_run_id": "r1", "config": {}}))
    assert latest_checkpoint(tmp_path) == done
    cfg = make_cfg(tmp_path, training={"checkpoint_dir": str(tmp_path), "resume": "never"})
    assert plan_resume(cfg, tmp_path / "out", "d").checkpoint is None
    cfg = make_cfg(tmp_path, training={"checkpoint_dir": str(tmp_path)})
    with pytest.raises(TunepipeError, match="digest: None -> 'd'"):
        plan_resume(cfg, tmp_path / "out", "d")
