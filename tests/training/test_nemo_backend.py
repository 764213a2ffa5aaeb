"""The NeMo backend without NeMo: the generated run spec, its checks, and the glue around NeMo's API.

NeMo (and a GPU) cannot exist here, so the end-to-end test installs a fake `nemo` / `nemo_run` in
sys.modules that records every call and writes what NeMo would write (checkpoint dirs, HF exports);
everything else (approval in MLflow, the split's digest, the chat-template staging, the outputs'
layout, the summary) is real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.training import nemo_backend
from tunepipe.training.contract import SUMMARY_FILE
from tunepipe.training.nemo_backend import nemo_lora_targets, recipe_spec

from tests.training.conftest import held_out_rows, learnable_rows, make_config

LLAMA2_7B = dict(model_type="llama", num_hidden_layers=32, hidden_size=4096, intermediate_size=11008,
                 num_attention_heads=32, num_key_value_heads=32, vocab_size=32000, max_position_embeddings=4096)
LLAMA2_13B = dict(LLAMA2_7B, num_hidden_layers=40, hidden_size=5120, intermediate_size=13824,
                  num_attention_heads=40, num_key_value_heads=40)
LLAMA3_8B = dict(LLAMA2_7B, intermediate_size=14336, num_key_value_heads=8, vocab_size=128256,
                 max_position_embeddings=8192)
LLAMA31_8B = dict(LLAMA3_8B, max_position_embeddings=131072, rope_scaling={"rope_type": "llama3", "factor": 8.0})
MISTRAL_7B = dict(LLAMA3_8B, model_type="mistral", vocab_size=32000, max_position_embeddings=32768)
QWEN2_7B = dict(model_type="qwen2", num_hidden_layers=28, hidden_size=3584, intermediate_size=18944,
                num_attention_heads=28, num_key_value_heads=4, vocab_size=152064, max_position_embeddings=32768)


def hf_dir(root: Path, name: str, shape: dict) -> str:
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(shape))
    return str(path)


def nemo_cfg(tmp_path, base: str, method: str = "lora", **nemo):
    return make_config(tmp_path / "data", base, training={"backend": "nemo", "method": method, "nemo": nemo})


@pytest.mark.parametrize("shape,recipe", [
    (LLAMA2_7B, "llama2_7b"), (LLAMA2_13B, "llama2_13b"), (LLAMA3_8B, "llama3_8b"),
    (LLAMA31_8B, "llama31_8b"), (MISTRAL_7B, "mistral_7b"), (QWEN2_7B, "qwen2_7b"),
])
def test_recipe_chosen_from_the_hf_config(tmp_path, shape, recipe):
    spec = recipe_spec(nemo_cfg(tmp_path, hf_dir(tmp_path, "m", shape)), "/data/nemo", str(tmp_path / "out"))
    assert spec["recipe"] == recipe


def test_llama3_8b_lora_spec(tmp_path):
    cfg = nemo_cfg(tmp_path, hf_dir(tmp_path, "llama3", LLAMA3_8B))
    cfg.training.lora.target_modules = ["q_proj", "k_proj", "v_proj", "o_proj"]
    out = tmp_path / "out"
    spec = recipe_spec(cfg, "/data/nemo", str(out))
    json.dumps(spec)
    assert spec["peft_scheme"] == "lora"
    assert spec["lora"] == {"dim": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["linear_qkv", "linear_proj"]}
    assert (spec["tensor_parallel"], spec["pipeline_parallel"], spec["num_nodes"], spec["gpus_per_node"]) == (1, 1, 1, 1)
    assert spec["seq_length"] == spec["packed_sequence_size"] == 64
    assert spec["packed_sequence"] and spec["micro_batch_size"] == 1 and spec["global_batch_size"] == 4
    assert (spec["max_steps"], spec["learning_rate"], spec["warmup_steps"], spec["seed"]) == (30, 3e-2, 3, 0)
    assert spec["precision"] == "bf16-mixed" and spec["checkpoint_every"] == 30 and spec["merge"] is True
    assert spec["source_data_dir"] == "/data/nemo"
    assert spec["data_dir"] == str(out / "checkpoints" / "data")
    assert spec["restore_path"] == str(out / "checkpoints" / "base_nemo")


def test_llama2_7b_sft_spec_has_no_lora(tmp_path):
    spec = recipe_spec(nemo_cfg(tmp_path, hf_dir(tmp_path, "l2", LLAMA2_7B), method="sft", packed_sequence=False,
                                gpus_per_node=8), "/d", str(tmp_path / "o"))
    assert spec["peft_scheme"] == "none" and spec["lora"] is None and spec["merge"] is False
    assert spec["packed_sequence_size"] is None
    assert 8 % (spec["tensor_parallel"] * spec["pipeline_parallel"]) == 0
    dp = 8 // (spec["tensor_parallel"] * spec["pipeline_parallel"])
    assert spec["global_batch_size"] % dp == 0


def test_llama2_13b_sft_layout_from_sizing(tmp_path):
    cfg = nemo_cfg(tmp_path, hf_dir(tmp_path, "l13", LLAMA2_13B), method="sft", gpus_per_node=8)
    spec = recipe_spec(cfg, "/d", str(tmp_path / "o"))
    tp, pp = spec["tensor_parallel"], spec["pipeline_parallel"]
    assert 8 % (tp * pp) == 0 and 40 % tp == 0 and 40 % pp == 0
    assert spec["recipe"] == "llama2_13b"


def test_explicit_layout_and_recipe_win(tmp_path):
    cfg = nemo_cfg(tmp_path, hf_dir(tmp_path, "l3", LLAMA3_8B), recipe="llama31_8b", tensor_parallel=2,
                   pipeline_parallel=2, num_nodes=2, gpus_per_node=4, global_batch_size=32)
    spec = recipe_spec(cfg, "/d", str(tmp_path / "o"))
    assert (spec["recipe"], spec["tensor_parallel"], spec["pipeline_parallel"]) == ("llama31_8b", 2, 2)
    assert (spec["num_nodes"], spec["gpus_per_node"], spec["global_batch_size"]) == (2, 4, 32)


def test_gpus_per_node_defaults_to_the_gpu_pool(tmp_path):
    cfg = nemo_cfg(tmp_path, hf_dir(tmp_path, "l3", LLAMA3_8B))
    cfg.cluster.training.count = 4
    assert recipe_spec(cfg, "/d", str(tmp_path / "o"))["gpus_per_node"] == 4


@pytest.mark.parametrize("targets,expected", [
    (["q_proj", "v_proj"], ["linear_qkv"]),
    (["o_proj"], ["linear_proj"]),
    (["gate_proj", "up_proj", "down_proj"], ["linear_fc1", "linear_fc2"]),
    (["down_proj", "q_proj", "up_proj", "o_proj"], ["linear_qkv", "linear_proj", "linear_fc1", "linear_fc2"]),
    (["all-linear"], ["linear_qkv", "linear_proj", "linear_fc1", "linear_fc2"]),
    (["linear_qkv"], ["linear_qkv"]),
])
def test_lora_names_map_to_nemo(targets, expected):
    assert nemo_lora_targets(targets) == expected


def test_unknown_lora_target_is_an_error():
    with pytest.raises(TunepipeError, match=r"\['c_attn'\] have no NeMo equivalent"):
        nemo_lora_targets(["q_proj", "c_attn"])


@pytest.mark.parametrize("shape,nemo,message", [
    (LLAMA2_7B, {"tensor_parallel": 3, "pipeline_parallel": 1, "gpus_per_node": 8}, "does not divide the 8 GPUs"),
    (LLAMA2_13B, {"tensor_parallel": 16, "pipeline_parallel": 1, "num_nodes": 2, "gpus_per_node": 8},
     "must divide the model's 40 attention heads"),
    (LLAMA3_8B, {"tensor_parallel": 16, "pipeline_parallel": 1, "num_nodes": 2, "gpus_per_node": 8},
     "and 8 key/value heads"),
    (LLAMA2_13B, {"tensor_parallel": 1, "pipeline_parallel": 3, "gpus_per_node": 3}, "must divide the model's 40 layers"),
    (LLAMA3_8B, {"micro_batch_size": 2}, "packed_sequence needs training.nemo.micro_batch_size=1"),
    (LLAMA3_8B, {"packed_sequence": False, "micro_batch_size": 2, "gpus_per_node": 2, "tensor_parallel": 1,
                 "pipeline_parallel": 1, "global_batch_size": 6}, "must be a multiple of micro_batch_size 2 x data"),
    ({**LLAMA2_7B, "hidden_size": 4000}, {}, "no NeMo recipe known .* set training.nemo.recipe"),
])
def test_bad_layouts_are_clear_errors(tmp_path, shape, nemo, message):
    with pytest.raises(TunepipeError, match=message):
        recipe_spec(nemo_cfg(tmp_path, hf_dir(tmp_path, "m", shape), **nemo), "/d", str(tmp_path / "o"))


def test_methods_nemo_cannot_train(tmp_path):
    with pytest.raises(Exception, match="training.backend=nemo supports training.method lora or sft"):
        nemo_cfg(tmp_path, "x", method="ptuning")
    with pytest.raises(TunepipeError, match="lora or sft, not qlora"):
        nemo_backend.peft_scheme("qlora")


def test_import_does_not_import_nemo():
    code = ("import sys, tunepipe.training.nemo_backend, tunepipe.components.nemo; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('nemo', 'nemo_run')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_missing_nemo_says_where_it_lives(monkeypatch):
    monkeypatch.setitem(sys.modules, "nemo_run", None)
    monkeypatch.setitem(sys.modules, "nemo", None)
    with pytest.raises(TunepipeError, match=r"nvcr.io/nvidia/nemo:25.11.01 .* or set training.backend=peft"):
        nemo_backend.build_recipe({"recipe": "llama3_8b"})


def test_component_runs_in_the_nemo_image():
    from tunepipe.components.nemo import nemo_finetune_op

    container = nemo_finetune_op.component_spec.implementation.container
    assert container.image == "nvcr.io/nvidia/nemo:25.11.01"
    assert "kfp==" in " ".join(container.command)
    assert set(nemo_finetune_op.component_spec.inputs) == {"config", "approved_digest", "nemo_data"}


# --- the glue, against a recording fake of NeMo --------------------------------------------------------

class FakeNemo:
    """Just enough of nemo.collections.llm and nemo_run for the backend: records calls, writes files."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.recipe = None
        self.llm = self._llm()
        self.run = self._run()

    def record(self, call: str, **kwargs):
        self.calls.append((call, kwargs))

    def named(self, name: str) -> list[dict]:
        return [kw for call, kw in self.calls if call == name]

    def _recipe(self, **kwargs):
        self.record("finetune_recipe", **kwargs)
        ns = SimpleNamespace
        self.recipe = ns(
            trainer=ns(strategy=ns(tensor_model_parallel_size=1, pipeline_model_parallel_size=1),
                       plugins=ns(precision="bf16-mixed"), num_nodes=1, devices=8, max_steps=1000,
                       val_check_interval=30),
            log=ns(ckpt=ns(every_n_train_steps=200)), model=ns(config=ns(seq_length=2048)),
            optim=ns(config=ns(lr=1e-4), lr_scheduler=ns(warmup_steps=50)),
            resume=ns(restore_config=ns(path="nemo://meta-llama/Meta-Llama-3-8B")), data=None,
            peft=ns(dim=8, alpha=16, dropout=0.0, target_modules=["linear_qkv"]) if kwargs["peft_scheme"] != "none"
            else None,
            dir=kwargs["dir"], name=kwargs["name"],
        )
        return self.recipe

    def _llm(self):
        llm = types.ModuleType("nemo.collections.llm")
        llm.llama3_8b = SimpleNamespace(finetune_recipe=self._recipe, model=lambda: "llama3_8b-model-config")
        llm.FineTuningDataModule = type("FineTuningDataModule", (), {})
        llm.import_ckpt = lambda **kw: None
        llm.export_ckpt = self._export_hf
        llm.peft = SimpleNamespace(export_lora=self._export_lora, merge_lora=self._merge_lora)
        return llm

    def _run(self):
        run = types.ModuleType("nemo_run")
        run.Config = lambda target, **kw: SimpleNamespace(target=target, **kw)
        run.Partial = lambda fn, **kw: SimpleNamespace(fn=fn, kwargs=kw)
        run.LocalExecutor = lambda **kw: SimpleNamespace(kind="local", **kw)
        run.run = self._run_task
        return run

    def _run_task(self, task, executor=None, name="", direct=False):
        if hasattr(task, "trainer"):
            self.record("run_recipe", executor=vars(executor) if executor else None, task_name=name, direct=direct)
            last = Path(task.dir) / task.name / "2026-01-01_00-00-00" / "checkpoints"
            (last / "model--val_loss=0.50-step=29-consumed_samples=120.0-last").mkdir(parents=True, exist_ok=True)
            (last / "model--val_loss=0.60-step=19-consumed_samples=80.0").mkdir(parents=True, exist_ok=True)
        else:
            self.record("run_partial", fn=task.fn, executor=vars(executor), task_name=name, **task.kwargs)
            Path(task.kwargs["output_path"]).mkdir(parents=True)

    def _export_hf(self, path, target, output_path):
        self.record("export_ckpt", path=path, target=target, output_path=output_path)
        Path(output_path).mkdir(parents=True)
        (Path(output_path) / "config.json").write_text("{}")

    def _export_lora(self, lora_checkpoint_path, output_path):
        self.record("export_lora", lora_checkpoint_path=lora_checkpoint_path, output_path=output_path)
        Path(output_path).mkdir(parents=True)
        (Path(output_path) / "adapter_config.json").write_text("{}")

    def _merge_lora(self, lora_checkpoint_path, output_path):
        self.record("merge_lora", lora_checkpoint_path=lora_checkpoint_path, output_path=output_path)
        Path(output_path).mkdir(parents=True)

    def install(self, monkeypatch):
        packed = types.ModuleType("nemo.collections.llm.gpt.data.packed_sequence")
        packed.PackedSequenceSpecs = type("PackedSequenceSpecs", (), {})
        modules = {"nemo": types.ModuleType("nemo"), "nemo.collections": types.ModuleType("nemo.collections"),
                   "nemo.collections.llm": self.llm, "nemo.collections.llm.gpt": types.ModuleType("g"),
                   "nemo.collections.llm.gpt.data": types.ModuleType("d"),
                   "nemo.collections.llm.gpt.data.packed_sequence": packed, "nemo_run": self.run}
        modules["nemo.collections"].llm = self.llm
        modules["nemo"].collections = modules["nemo.collections"]
        for name, module in modules.items():
            monkeypatch.setitem(sys.modules, name, module)
        return self


@pytest.fixture(scope="module")
def nemo_data(tmp_path_factory, splits):
    """The split stage's NeMo files for the approved digest (what data_quality.export writes)."""
    from tunepipe import artifacts
    from tunepipe.training.data import user_content

    _, _, digest = splits
    root = tmp_path_factory.mktemp("nemo_data")
    held_out = held_out_rows(20)
    parts = {"training.jsonl": learnable_rows(), "validation.jsonl": held_out.head(12), "test.jsonl": held_out.tail(8)}
    for name, part in parts.items():
        lines = [json.dumps({"input": user_content(r.prompt, r.context), "output": r.response, "record_id": r.record_id})
                 for r in part.itertuples()]
        (root / name).write_text("\n".join(lines) + "\n")
    artifacts.write_summary(root, {"files": list(parts), "rows": {k: len(v) for k, v in parts.items()},
                                   "digest": digest})
    return str(root)


@pytest.fixture(scope="module")
def approved_cfg(data_dir, tiny_base, splits, approver):
    cfg = make_config(data_dir, tiny_base, model={"system_prompt": "Answer with one colour."},
                      training={"backend": "nemo", "method": "lora", "nemo": {"recipe": "llama3_8b"},
                                "lora": {"target_modules": ["q_proj", "v_proj", "down_proj"]}})
    approver(cfg, splits[2])
    return cfg


def test_unapproved_digest_is_refused_before_nemo(approved_cfg, nemo_data, tmp_path):
    with pytest.raises(TunepipeError, match="not approved|no approval|approve"):
        nemo_backend.finetune(approved_cfg, nemo_data, str(tmp_path / "out"), "0" * 64)


def test_finetune_without_nemo_names_the_image(approved_cfg, nemo_data, splits, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nemo_run", None)
    with pytest.raises(TunepipeError, match="nvcr.io/nvidia/nemo:25.11.01"):
        nemo_backend.finetune(approved_cfg, nemo_data, str(tmp_path / "out"), splits[2])


def test_lora_end_to_end_with_fake_nemo(approved_cfg, nemo_data, splits, tiny_base, tmp_path, monkeypatch):
    fake = FakeNemo().install(monkeypatch)
    out = tmp_path / "model"
    result = nemo_backend.finetune(approved_cfg, nemo_data, str(out), splits[2])
    work = out / "checkpoints"

    (imported,) = fake.named("run_partial")
    assert imported["fn"] is fake.llm.import_ckpt and imported["source"] == f"hf://{tiny_base}"
    assert imported["output_path"] == str(work / "base_nemo") and imported["model"] == "llama3_8b-model-config"
    assert fake.named("finetune_recipe") == [{"dir": str(work / "runs"), "name": "tunepipe", "num_nodes": 1,
                                              "num_gpus_per_node": 1, "peft_scheme": "lora",
                                              "packed_sequence": True}]
    recipe = fake.recipe
    assert recipe.trainer.strategy.tensor_model_parallel_size == 1
    assert recipe.trainer.strategy.pipeline_model_parallel_size == 1
    assert (recipe.trainer.max_steps, recipe.trainer.devices, recipe.log.ckpt.every_n_train_steps) == (30, 1, 30)
    assert recipe.model.config.seq_length == 64 and recipe.optim.config.lr == 3e-2
    assert recipe.optim.lr_scheduler.warmup_steps == 3
    assert recipe.resume.restore_config.path == str(work / "base_nemo")
    assert vars(recipe.peft) == {"dim": 8, "alpha": 16, "dropout": 0.05,
                                 "target_modules": ["linear_qkv", "linear_fc2"]}
    data = recipe.data
    assert data.target is fake.llm.FineTuningDataModule
    assert (data.dataset_root, data.seq_length, data.micro_batch_size, data.global_batch_size, data.seed) == (
        str(work / "data"), 64, 1, 4, 0)
    assert data.packed_sequence_specs.packed_sequence_size == 64
    assert data.dataset_kwargs["prompt_template"] == "{input}{output}"
    (ran,) = fake.named("run_recipe")
    assert ran["executor"] == {"kind": "local", "ntasks_per_node": 1, "launcher": "torchrun"} and not ran["direct"]

    last = str(work / "runs" / "tunepipe" / "2026-01-01_00-00-00" / "checkpoints"
               / "model--val_loss=0.50-step=29-consumed_samples=120.0-last")
    assert fake.named("export_lora") == [{"lora_checkpoint_path": last, "output_path": str(out / "adapter")}]
    assert fake.named("merge_lora") == [{"lora_checkpoint_path": last, "output_path": str(work / "merged_nemo")}]
    assert fake.named("export_ckpt") == [{"path": str(work / "merged_nemo"), "target": "hf",
                                          "output_path": str(out / "merged")}]
    assert (out / "adapter" / "tokenizer_config.json").is_file()
    assert (out / "merged" / "tokenizer_config.json").is_file()
    assert not work.exists()

    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary == result
    assert summary["backend"] == "nemo" and summary["method"] == "lora" and summary["steps"] == 30
    assert summary["outputs"] == {"adapter": True, "merged": True}
    assert (summary["train_rows"], summary["val_rows"]) == (40, 12)
    assert summary["digest"] == splits[2] and summary["base_model"] == tiny_base
    assert summary["tokens_per_s"] is None and summary["train_loss"] is None
    assert summary["nemo"]["recipe"] == "llama3_8b"

    from tunepipe.training.methods import trained_model_dir

    assert trained_model_dir(out) == out / "merged"


def test_staged_data_is_chat_formatted(approved_cfg, nemo_data, tiny_base, tmp_path):
    from transformers import AutoTokenizer

    from tunepipe.training.data import prompt_messages, prompt_text

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    counts = nemo_backend.stage_data(approved_cfg, tokenizer, nemo_data, str(tmp_path / "staged"))
    assert counts == {"training.jsonl": 40, "validation.jsonl": 12, "test.jsonl": 8}
    first = json.loads((tmp_path / "staged" / "training.jsonl").read_text().splitlines()[0])
    expected = prompt_text(tokenizer, prompt_messages(approved_cfg, "What colour is item 0?", "Order 0."))
    assert first["input"] == expected and "Answer with one colour." in first["input"]
    assert first["output"].startswith("red") and set(first) == {"input", "output"}


def test_sft_exports_the_full_model(approved_cfg, nemo_data, splits, tmp_path, monkeypatch):
    fake = FakeNemo().install(monkeypatch)
    cfg = approved_cfg.model_copy(deep=True)
    cfg.training.method = "sft"
    cfg.training.checkpoint_dir = str(tmp_path / "ckpt")
    out = tmp_path / "model"
    result = nemo_backend.finetune(cfg, nemo_data, str(out), splits[2])
    assert fake.named("finetune_recipe")[0]["peft_scheme"] == "none"
    assert fake.named("export_lora") == [] and fake.named("merge_lora") == []
    (export,) = fake.named("export_ckpt")
    assert export["target"] == "hf" and export["output_path"] == str(out / "merged")
    assert export["path"].startswith(str(tmp_path / "ckpt" / "runs")) and export["path"].endswith("-last")
    assert result["outputs"] == {"adapter": False, "merged": True}
    assert (tmp_path / "ckpt").is_dir()


def test_a_multi_node_spec_in_a_one_node_step_points_at_the_trainjob(approved_cfg, nemo_data, splits, tmp_path,
                                                                      monkeypatch):
    FakeNemo().install(monkeypatch)
    cfg = approved_cfg.model_copy(deep=True)
    cfg.training.nemo.num_nodes = 2
    with pytest.raises(TunepipeError, match="set cluster.training.nodes=2"):
        nemo_backend.finetune(cfg, nemo_data, str(tmp_path / "out"), splits[2])


def _on_two_nodes(approved_cfg, tmp_path):
    cfg = approved_cfg.model_copy(deep=True)
    cfg.cluster.training.nodes = 2
    cfg.training.checkpoint_dir = str(tmp_path / "shared" / "ckpt")
    return cfg


def test_across_nodes_rank0_prepares_every_rank_trains_and_rank0_exports(approved_cfg, nemo_data, splits, tmp_path,
                                                                         monkeypatch):
    fake = FakeNemo().install(monkeypatch)
    cfg, out = _on_two_nodes(approved_cfg, tmp_path), tmp_path / "shared" / "model"
    results = {}

    def rank1():
        results[1] = nemo_backend.finetune_on_node(cfg, nemo_data, str(out), splits[2], rank=1, wait_s=60)

    other = threading.Thread(target=rank1)
    other.start()
    results[0] = nemo_backend.finetune_on_node(cfg, nemo_data, str(out), splits[2], rank=0)
    other.join(timeout=60)

    assert results[1] is None and results[0]["nemo"]["num_nodes"] == 2
    assert len(fake.named("run_partial")) == 1, "only rank 0 imports the base model"
    runs = fake.named("run_recipe")
    assert len(runs) == 2 and all(r["direct"] and r["executor"] is None for r in runs)
    assert all(c["num_nodes"] == 2 for c in fake.named("finetune_recipe"))
    assert len(fake.named("export_lora")) == 1 and (out / "finetune_summary.json").is_file()
    assert json.loads(nemo_backend.marker_path(str(out)).read_text())["rows"]["training.jsonl"] == results[0][
        "train_rows"]


def test_across_nodes_a_refusal_on_rank0_reaches_the_other_ranks(approved_cfg, nemo_data, tmp_path, monkeypatch):
    FakeNemo().install(monkeypatch)
    cfg, out = _on_two_nodes(approved_cfg, tmp_path), str(tmp_path / "shared" / "model")
    with pytest.raises(TunepipeError, match="approv"):
        nemo_backend.finetune_on_node(cfg, nemo_data, out, "0" * 64, rank=0)
    with pytest.raises(TunepipeError, match="rank 0 refused the run: .*approv"):
        nemo_backend.finetune_on_node(cfg, nemo_data, out, "0" * 64, rank=1, wait_s=1)


def test_the_trainjob_worker_runs_the_nemo_node_entry(approved_cfg, nemo_data, splits, tmp_path, monkeypatch):
    from tunepipe.training import worker

    fake = FakeNemo().install(monkeypatch)
    cfg, out = _on_two_nodes(approved_cfg, tmp_path), tmp_path / "shared" / "model"
    config = tmp_path / "config.json"
    config.write_text(cfg.to_json())
    monkeypatch.setenv("RANK", "0")
    code = worker.main(["--config", str(config), "--train", nemo_data, "--val", nemo_data, "--out", str(out),
                        "--digest", splits[2]])
    assert code == 0 and (out / "finetune_summary.json").is_file()
    assert [r["direct"] for r in fake.named("run_recipe")] == [True]


def test_last_checkpoint_is_the_highest_step_not_the_newest_file(tmp_path):
    from tunepipe.training.nemo_backend import last_checkpoint

    late = tmp_path / "runs" / "a" / "model--val_loss=0.40-step=99-consumed_samples=400.0-last"
    early = tmp_path / "runs" / "b" / "model--val_loss=0.50-step=9-consumed_samples=40.0-last"
    late.mkdir(parents=True)
    early.mkdir(parents=True)
    os.utime(late, (1, 1))
    assert last_checkpoint(str(tmp_path / "runs")) == late
