"""Across nodes: the fine-tune stage as a Kubeflow Trainer TrainJob, submitted and watched from a pipeline step.

    run_trainjob = check approval -> stage inputs on the shared workspace -> TrainJob -> wait -> copy outputs

The pipeline step (`finetune_trainjob_op`) holds no GPU itself: KFP hands it the task's resources, node
selector, tolerations, affinity, env and volumes (`dsl.TaskConfig` passthroughs), and this module puts
them on the TrainJob's nodes. Every node runs `torchrun -m tunepipe.training.worker`; the runtime
(`cluster.training.trainjob.runtime`, a ClusterTrainingRuntime such as `torch-distributed`) sets the
PET_* variables torchrun reads (nodes, node rank, master address). Inputs, config and outputs travel
through the pipeline's workspace volume (ReadWriteMany), which the TrainJob mounts at the same path.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

from tunepipe.config import Config, GpuPoolConfig
from tunepipe.errors import TunepipeError
from tunepipe.polling import PollTimeout, poll
from tunepipe.training.contract import active_run_id, read_summary
from tunepipe.training.parallel import ERRORS_ENV, worker_args, worker_error

GROUP, VERSION, PLURAL = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
MANAGER = "tunepipe"
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def job_name(digest: str) -> str:
    """An RFC 1035 label: starts with a letter, lower case, at most 63 characters."""
    return f"tunepipe-ft-{digest[:12].lower()}-{uuid.uuid4().hex[:6]}"


def resources(task_config: dict, pool: GpuPoolConfig) -> dict:
    """The task's resources as KFP passed them through; the GPU pool's from config when none came."""
    if task_config.get("resources"):
        return task_config["resources"]
    limits = {"cpu": pool.cpu, "memory": pool.memory, pool.accelerator_type: str(pool.count)}
    return {"limits": limits, "requests": dict(limits)}


def placement(task_config: dict, pool: GpuPoolConfig) -> dict:
    """Node selector, tolerations and affinity for the nodes: the task's, else the pool's from config."""
    tolerations = task_config.get("tolerations") or [
        {k: v for k, v in t.model_dump().items() if v is not None} for t in pool.tolerations
    ]
    spec = {"nodeSelector": task_config.get("node_selector") or dict(pool.node_selector), "tolerations": tolerations}
    if task_config.get("affinity"):
        spec["affinity"] = task_config["affinity"]
    return {k: v for k, v in spec.items() if v}


def node_pod_patch(task_config: dict, pool: GpuPoolConfig) -> dict:
    """The pod spec patch for the `node` job: placement, the task's volumes, and /dev/shm in memory."""
    shm = {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": pool.shm_size}}
    mounts = [*(task_config.get("volume_mounts") or []), {"name": "dshm", "mountPath": "/dev/shm"}]
    return {
        **placement(task_config, pool),
        "volumes": [*(task_config.get("volumes") or []), shm],
        "containers": [{"name": "node", "volumeMounts": mounts}],
    }


def build_trainjob(cfg: Config, name: str, namespace: str, task_config: dict, worker_args: list[str],
                   env: dict[str, str]) -> dict:
    """The TrainJob manifest: `cluster.training.nodes` nodes of `count` GPUs, each running torchrun."""
    pool = cfg.cluster.training
    job_env = [*(task_config.get("env") or []), *({"name": k, "value": v} for k, v in env.items())]
    patch = {"name": "node", "template": {"spec": {"template": {"spec": node_pod_patch(task_config, pool)}}}}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainJob",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": MANAGER, "tunepipe/stage": "finetune"}},
        "spec": {
            "runtimeRef": {"name": pool.trainjob.runtime},
            "trainer": {
                "image": cfg.training.nemo.image if cfg.training.backend == "nemo" else cfg.cluster.image,
                "command": ["torchrun", *worker_args],
                "numNodes": pool.nodes,
                "numProcPerNode": pool.count,
                "resourcesPerNode": resources(task_config, pool),
                "env": job_env,
            },
            "runtimePatches": [{
                "manager": MANAGER,
                "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [patch]}}},
            }],
        },
    }


def kubernetes_api():
    """The CustomObjectsApi of the cluster this step runs in (or of the local kubeconfig)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


def current_namespace(cfg: Config) -> str:
    if cfg.cluster.training.trainjob.namespace:
        return cfg.cluster.training.trainjob.namespace
    path = Path(NAMESPACE_FILE)
    if not path.is_file():
        raise TunepipeError(
            "cannot tell which namespace to create the TrainJob in (not running in a pod): "
            "set cluster.training.trainjob.namespace"
        )
    return path.read_text().strip()


def condition(job: dict) -> tuple[str | None, str]:
    """(Complete | Failed | None, message) from the TrainJob's status conditions."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"], cond.get("message") or cond.get("reason") or ""
    return None, ""


def progress(job: dict) -> str:
    status = job.get("status") or {}
    jobs = ", ".join(f"{j['name']}: {j.get('active', 0)} active, {j.get('succeeded', 0)} done"
                     for j in status.get("jobsStatus") or [])
    percent = (status.get("trainerStatus") or {}).get("progressPercentage")
    return "; ".join(p for p in (jobs or "pending", f"{percent}%" if percent is not None else "") if p)


def wait(api, name: str, namespace: str, timeout_s: float, poll_s: float,
         sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll until the TrainJob completes; a failure or `timeout_s` raises (and a timed-out job is deleted)."""
    def check() -> dict | None:
        job = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        state, message = condition(job)
        if state == "Failed":
            raise TunepipeError(f"TrainJob {namespace}/{name} failed: {message}. "
                                f"See `kubectl logs -n {namespace} -l trainer.kubeflow.org/trainjob-name={name}`")
        if state == "Complete":
            return job
        print(f"TrainJob {name}: {progress(job)}", flush=True)
        return None

    try:
        return poll(check, timeout_s, poll_s, sleep)
    except PollTimeout:
        api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        raise TunepipeError(
            f"TrainJob {namespace}/{name} did not finish within cluster.training.trainjob.timeout_s={timeout_s:g} "
            "and was deleted: raise the timeout, or check that the GPU nodes can be scheduled"
        ) from None


def stage_inputs(cfg: Config, workdir: Path, inputs: dict[str, str]) -> dict:
    """Copy the input dirs and the config onto the shared workspace; the paths the workers will see."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, source in inputs.items():
        shutil.copytree(source, workdir / name, dirs_exist_ok=True)
    (workdir / "config.json").write_text(cfg.to_json())
    (workdir / "errors").mkdir(exist_ok=True)
    return {"config": str(workdir / "config.json"), **{name: str(workdir / name) for name in inputs},
            "out": str(workdir / "model"), "errors": str(workdir / "errors")}


def run_trainjob(cfg: Config, task_config: dict, train_dir: str, val_dir: str | None, out_dir: str, digest: str,
                 workspace: str, api=None) -> dict:
    """Fine-tune across `cluster.training.nodes` nodes; outputs land in `out_dir`, like the one-pod stage.

    With `training.backend=nemo` the nodes run the NeMo image, `train_dir` is the split's NeMo data dir
    and `val_dir` is None.
    """
    from tunepipe.training.contract import check_inputs

    check_inputs(cfg, train_dir, digest)
    api = api or kubernetes_api()
    namespace, name = current_namespace(cfg), job_name(digest)
    inputs = {"train": train_dir, **({"validation": val_dir} if val_dir else {})}
    paths = stage_inputs(cfg, Path(workspace) / "tunepipe-trainjobs" / name, inputs)
    args = worker_args(paths["config"], paths["train"], paths.get("validation", paths["train"]), paths["out"],
                       digest, active_run_id())
    manifest = build_trainjob(cfg, name, namespace, task_config, args,
                              {ERRORS_ENV: paths["errors"], "PYTHONUNBUFFERED": "1"})
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    trainjob = cfg.cluster.training.trainjob
    print(f"TrainJob {namespace}/{name}: {cfg.cluster.training.nodes} nodes x {cfg.cluster.training.count} GPUs "
          f"({trainjob.runtime})", flush=True)
    try:
        wait(api, name, namespace, trainjob.timeout_s, trainjob.poll_interval_s)
    except TunepipeError as err:
        raise TunepipeError(worker_error(Path(paths["errors"])) or str(err)) from None
    shutil.copytree(paths["out"], out_dir, dirs_exist_ok=True)
    return {**read_summary(out_dir), "trainjob": f"{namespace}/{name}"}

