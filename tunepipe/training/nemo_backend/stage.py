"""The NeMo fine-tune stage: on one node `finetune` runs the steps itself; across nodes every rank runs
`finetune_on_node`, rank 0 prepares (checks, data, import) and the others wait for its marker.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.polling import PollTimeout, poll
from tunepipe.tracking import log_metrics
from tunepipe.training.contract import SUMMARY_FILE, TrainInputs
from tunepipe.training.nemo_backend.data import load_tokenizer, stage_data
from tunepipe.training.nemo_backend.checkpoints import export, import_base, summary
from tunepipe.training.nemo_backend.recipe import build_recipe, import_nemo
from tunepipe.training.nemo_backend.spec import recipe_spec


READY_MARKER = ".prepared.json"


def finetune(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str) -> dict:
    """Fine-tune with NeMo on one node (torchrun over its GPUs) on the approved split's NeMo files; write HF
    outputs and the summary. Across nodes every node runs `finetune_on_node` instead (a TrainJob)."""
    started = time.perf_counter()
    spec = checked_spec(cfg, nemo_data_dir, out_dir, digest)
    if spec["num_nodes"] > 1:
        raise TunepipeError(
            f"training.nemo.num_nodes={spec['num_nodes']} but this step runs on one node: set "
            f"cluster.training.nodes={spec['num_nodes']} so the pipeline runs NeMo as a Kubeflow Trainer TrainJob"
        )
    llm, run = import_nemo()
    tokenizer, rows = prepare(cfg, llm, run, spec)
    run.run(build_recipe(spec), executor=run.LocalExecutor(ntasks_per_node=spec["gpus_per_node"],
                                                           launcher="torchrun"), name=spec["name"])
    return finish(cfg, llm, spec, tokenizer, rows, digest, started)


def finetune_on_node(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str, rank: int,
                     wait_s: float = 3600.0) -> dict | None:
    """One torchrun process of a multi-node NeMo run (`worker` on a TrainJob's nodes).

    Global rank 0 stages the data and imports the base model, while the others wait for its marker beside
    `out_dir` on the shared workspace (`<out_dir>.prepared.json`, unique per TrainJob); then every process
    trains in-process (`direct=True`, NeMo's Megatron strategy reads torchrun's environment); rank 0
    exports and returns the summary, the others None.
    """
    started = time.perf_counter()
    llm, run = import_nemo()
    if rank == 0:
        spec, tokenizer, rows = prepared_on_rank0(cfg, llm, run, nemo_data_dir, out_dir, digest)
    else:
        spec = recipe_spec(cfg, nemo_data_dir, out_dir)
        rows = wait_for_marker(marker_path(out_dir), wait_s)
    run.run(build_recipe(spec), direct=True, name=spec["name"])
    if rank != 0:
        return None
    return finish(cfg, llm, spec, tokenizer, rows, digest, started)


def prepared_on_rank0(cfg: Config, llm, run, nemo_data_dir: str, out_dir: str, digest: str):
    """Checks, staging and import on rank 0; the marker carries the row counts, or the error for the others."""
    marker = marker_path(out_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        spec = checked_spec(cfg, nemo_data_dir, out_dir, digest)
        tokenizer, rows = prepare(cfg, llm, run, spec)
    except TunepipeError as err:
        marker.write_text(json.dumps({"error": str(err)}))
        raise
    marker.write_text(json.dumps({"rows": rows}))
    return spec, tokenizer, rows


def marker_path(out_dir: str) -> Path:
    out = Path(out_dir)
    return out.with_name(out.name + READY_MARKER)


def wait_for_marker(path: Path, wait_s: float, poll_s: float = 5.0) -> dict:
    try:
        poll(lambda: path.is_file() or None, wait_s, poll_s)
    except PollTimeout:
        raise TunepipeError(f"rank 0 did not prepare the NeMo run within {wait_s:g} s ({path} never appeared)") from None
    marker = json.loads(path.read_text())
    if "error" in marker:
        raise TunepipeError(f"rank 0 refused the run: {marker['error']}")
    return marker["rows"]


def checked_spec(cfg: Config, nemo_data_dir: str, out_dir: str, digest: str) -> dict:
    from tunepipe.training.contract import check_inputs

    check_inputs(cfg, nemo_data_dir, digest)
    return recipe_spec(cfg, nemo_data_dir, out_dir)


def prepare(cfg: Config, llm, run, spec: dict) -> tuple[object, dict]:
    """The chat-formatted data and the imported base checkpoint; (tokenizer, rows per file)."""
    tokenizer = load_tokenizer(spec["base_dir"])
    rows = stage_data(cfg, tokenizer, spec["source_data_dir"], spec["data_dir"])
    import_base(llm, run, spec)
    return tokenizer, rows


def finish(cfg: Config, llm, spec: dict, tokenizer, rows: dict, digest: str, started: float) -> dict:
    written = export(llm, spec, tokenizer)
    result = summary(cfg, spec, rows, written, digest, time.perf_counter() - started)
    (Path(spec["out_dir"]) / SUMMARY_FILE).write_text(json.dumps(result, indent=2))
    log_metrics({k: result[k] for k in ("train_loss", "val_loss", "seconds") if result[k] is not None})
    if not cfg.training.checkpoint_dir:
        shutil.rmtree(spec["work_dir"], ignore_errors=True)
    return result


class NemoBackend:
    """The `contract.Backend` protocol over `finetune` (the NeMo split files, in the NeMo image)."""

    def finetune(self, cfg: Config, inputs: TrainInputs, out_dir: str) -> dict:
        return finetune(cfg, inputs.nemo_dir, out_dir, inputs.digest)


NEMO = NemoBackend()
