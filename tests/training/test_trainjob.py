"""Fine-tuning across nodes: the TrainJob manifest, and submit/wait/copy against a fake Kubernetes API.

No cluster exists here: only the API server is faked. It records what was created and plays the
TrainJob's workers by writing their outputs onto the shared workspace once the job "completes".
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.training import trainjob

TASK_CONFIG = {
    "resources": {"limits": {"cpu": "8", "memory": "64G", "nvidia.com/gpu": "4"}, "requests": {"cpu": "8"}},
    "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": None,
    "env": [{"name": "HF_HUB_OFFLINE", "value": "1"}],
    "volumes": [{"name": "kfp-workspace", "persistentVolumeClaim": {"claimName": "run-123-workspace"}}],
    "volume_mounts": [{"name": "kfp-workspace", "mountPath": "/kfp-workspace"}],
}


class FakeApi:
    """CustomObjectsApi as far as run_trainjob uses it; `states` are the conditions each poll sees."""

    def __init__(self, states, outputs=None):
        self.states, self.outputs = list(states), outputs
        self.created, self.deleted, self.polls = [], [], 0

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        assert (group, version, plural) == ("trainer.kubeflow.org", "v1alpha1", "trainjobs")
        self.created.append((namespace, body))
        return body

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        if state == "Complete" and self.outputs:
            self.outputs(self.created[-1][1])
        conditions = [{"type": state, "status": "True", "message": f"job {state.lower()}"}] if state else []
        return {"status": {"conditions": conditions, "jobsStatus": [{"name": "node", "active": 2, "succeeded": 0}]}}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.deleted.append(name)


def arg(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def workers_write_outputs(manifest: dict) -> None:
    """What rank 0 of the TrainJob leaves on the workspace: an adapter and the summary."""
    out = Path(arg(manifest["spec"]["trainer"]["command"], "--out"))
    (out / "adapter").mkdir(parents=True, exist_ok=True)
    (out / "adapter" / "adapter_config.json").write_text("{}")
    (out / "finetune_summary.json").write_text(json.dumps({"steps": 30, "world_size": 8, "val_loss": 0.5}))


@pytest.fixture
def cfg(tmp_path, make_cfg):
    return make_cfg(tmp_path / "data", cluster={
        "image": "registry.example.com/ml/tunepipe:1.2.3",
        "training": {"count": 4, "nodes": 2, "shm_size": "32Gi",
                     "trainjob": {"namespace": "team-ml", "poll_interval_s": 0.01, "timeout_s": 30}},
    })


def manifest(cfg, task_config=TASK_CONFIG):
    args = ["-m", "tunepipe.training.worker", "--out", "/kfp-workspace/x/model"]
    return trainjob.build_trainjob(cfg, "tunepipe-ft-abc", "team-ml", task_config, args, {"A": "1"})


def node_patch(job: dict) -> dict:
    patch = job["spec"]["runtimePatches"][0]
    assert patch["manager"] == "tunepipe"
    [node] = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert node["name"] == "node"
    return node["template"]["spec"]["template"]["spec"]


def test_manifest_runs_torchrun_on_every_node_with_the_tasks_gpus(cfg):
    job = manifest(cfg)
    assert (job["apiVersion"], job["kind"]) == ("trainer.kubeflow.org/v1alpha1", "TrainJob")
    assert job["metadata"]["namespace"] == "team-ml" and job["spec"]["runtimeRef"] == {"name": "torch-distributed"}
    trainer = job["spec"]["trainer"]
    assert trainer["image"] == "registry.example.com/ml/tunepipe:1.2.3"
    assert trainer["command"][:3] == ["torchrun", "-m", "tunepipe.training.worker"]
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 4)
    assert trainer["resourcesPerNode"] == TASK_CONFIG["resources"]
    assert trainer["env"] == [{"name": "HF_HUB_OFFLINE", "value": "1"}, {"name": "A", "value": "1"}]


def test_manifest_forwards_node_selector_tolerations_and_the_workspace_volume(cfg):
    spec = node_patch(manifest(cfg))
    assert spec["nodeSelector"] == TASK_CONFIG["node_selector"]
    assert spec["tolerations"] == TASK_CONFIG["tolerations"]
    assert "affinity" not in spec
    assert spec["volumes"] == [*TASK_CONFIG["volumes"],
                               {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}}]
    assert spec["containers"] == [{"name": "node", "volumeMounts": [
        {"name": "kfp-workspace", "mountPath": "/kfp-workspace"}, {"name": "dshm", "mountPath": "/dev/shm"}]}]


def test_manifest_falls_back_to_the_gpu_pool_config_without_passthroughs(cfg):
    job = manifest(cfg, {})
    assert job["spec"]["trainer"]["resourcesPerNode"]["limits"] == {"cpu": "8", "memory": "64G", "nvidia.com/gpu": "4"}
    spec = node_patch(job)
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "nodeSelector" not in spec


def test_job_names_are_dns_labels():
    name = trainjob.job_name("ABCDEF0123456789" * 4)
    assert name.startswith("tunepipe-ft-abcdef012345-") and len(name) <= 63 and name == name.lower()


def test_run_submits_waits_and_copies_the_outputs(tmp_path, cfg, approver, splits, capsys):
    train_dir, val_dir, digest = splits
    approver(cfg, digest)
    api = FakeApi([None, None, "Complete"], outputs=workers_write_outputs)
    result = trainjob.run_trainjob(cfg, TASK_CONFIG, train_dir, val_dir, str(tmp_path / "model"), digest,
                                   str(tmp_path / "workspace"), api=api)
    [(namespace, job)] = api.created
    assert namespace == "team-ml" and result["trainjob"] == f"team-ml/{job['metadata']['name']}"
    assert result["world_size"] == 8 and api.polls == 3
    assert (tmp_path / "model" / "adapter" / "adapter_config.json").is_file()
    command = job["spec"]["trainer"]["command"]
    staged = Path(arg(command, "--train"))
    assert staged.is_relative_to(tmp_path / "workspace") and (staged / "part-00000.parquet").is_file()
    assert json.loads(Path(arg(command, "--config")).read_text())["cluster"]["training"]["nodes"] == 2
    assert "TrainJob tunepipe-ft-" in capsys.readouterr().out


def test_unapproved_data_creates_no_trainjob(tmp_path, make_cfg, splits):
    cfg = make_cfg(tmp_path / "data", cluster={"training": {"nodes": 2, "trainjob": {"namespace": "ns"}}})
    api = FakeApi(["Complete"])
    with pytest.raises(TunepipeError, match="approv"):
        trainjob.run_trainjob(cfg, {}, splits[0], splits[1], str(tmp_path / "m"), splits[2], str(tmp_path), api=api)
    assert api.created == []


def test_a_failed_trainjob_reports_the_workers_message(tmp_path, cfg, approver, splits):
    train_dir, val_dir, digest = splits
    approver(cfg, digest)

    def worker_fails(job):
        errors = Path(next(e["value"] for e in job["spec"]["trainer"]["env"] if e["name"] == "TUNEPIPE_WORKER_ERRORS"))
        (errors / "rank-0.json").write_text(json.dumps({"message": "model.max_seq_len too long"}))

    api = FakeApi(["Failed"])
    api.create_namespaced_custom_object = _then(api.create_namespaced_custom_object, worker_fails)
    with pytest.raises(TunepipeError, match="model.max_seq_len too long"):
        trainjob.run_trainjob(cfg, TASK_CONFIG, train_dir, val_dir, str(tmp_path / "m"), digest,
                              str(tmp_path / "ws"), api=api)


def _then(create, effect):
    def wrapped(group, version, namespace, plural, body):
        effect(body)
        return create(group, version, namespace, plural, body)
    return wrapped


def test_wait_gives_up_after_the_timeout_and_deletes_the_job():
    api, now = FakeApi([None]), [0.0]
    with pytest.raises(TunepipeError, match="did not finish within cluster.training.trainjob.timeout_s=60"):
        trainjob.wait(api, "job", "ns", timeout_s=60, poll_s=25, sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert api.deleted == ["job"] and api.polls == 4 and now[0] == 75


def test_wait_reports_a_failure_with_the_logs_command():
    with pytest.raises(TunepipeError, match="failed: job failed.*kubectl logs -n ns"):
        trainjob.wait(FakeApi(["Failed"]), "job", "ns", timeout_s=60, poll_s=1)


def test_component_forwards_the_task_config_to_the_trainjob(tmp_path, cfg, approver, splits, monkeypatch):
    from kfp import dsl

    from tunepipe.components.training import finetune_trainjob_op

    train_dir, val_dir, digest = splits
    approver(cfg, digest)
    api = FakeApi(["Complete"], outputs=workers_write_outputs)
    monkeypatch.setattr(trainjob, "kubernetes_api", lambda: api)
    task_config = dsl.TaskConfig(**TASK_CONFIG)
    out = json.loads(finetune_trainjob_op.python_func(
        config=cfg.to_json(), approved_digest=digest, workspace_path=str(tmp_path / "ws"),
        train=SimpleNamespace(path=train_dir), validation=SimpleNamespace(path=val_dir),
        model=SimpleNamespace(path=str(tmp_path / "model")), task_config=task_config,
    ))
    [(_, job)] = api.created
    assert job["spec"]["trainer"]["resourcesPerNode"] == TASK_CONFIG["resources"]
    assert node_patch(job)["nodeSelector"] == TASK_CONFIG["node_selector"]
    assert arg(job["spec"]["trainer"]["command"], "--run-id") == out["mlflow_run_id"]


def test_nemo_across_nodes_runs_the_nemo_image_on_the_splits_nemo_files(tmp_path, cfg, approver, splits):
    train_dir, _, digest = splits
    cfg.training.backend = "nemo"
    cfg.training.nemo.image = "registry.example.com/ml/tunepipe-nemo:1.2.3"
    approver(cfg, digest)
    api = FakeApi(["Complete"], outputs=workers_write_outputs)
    trainjob.run_trainjob(cfg, TASK_CONFIG, train_dir, None, str(tmp_path / "model"), digest,
                          str(tmp_path / "workspace"), api=api)
    [(_, job)] = api.created
    trainer = job["spec"]["trainer"]
    assert trainer["image"] == "registry.example.com/ml/tunepipe-nemo:1.2.3"
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 4)
    staged = Path(arg(trainer["command"], "--train"))
    assert arg(trainer["command"], "--val") == str(staged) and staged.name == "train"
    assert not (staged.parent / "validation").exists()
