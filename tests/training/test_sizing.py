"""Hardware sizing: plans agree with published recipes, memory moves the right way, errors are short."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml
from typer.testing import CliRunner

from tunepipe.cli import app
from tunepipe.errors import TunepipeError
from tunepipe.training import sizing
from tunepipe.training.sizing import KNOWN_MODELS, Layout, estimate, make_job, plan

runner = CliRunner()
JSON_KEYS = {"fits", "gpus", "tensor_parallel", "pipeline_parallel", "memory_per_gpu_gb"}


def _layout(p) -> tuple:
    return p.layout.gpus, p.layout.tp, p.layout.pp


# --- published practice ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model, tp", [("llama-2-7b", 2), ("llama-2-13b", 4)])
@pytest.mark.parametrize("seq_len", [2048, 4096])
def test_full_sft_on_one_8_gpu_node_uses_the_nemo_recipe_tp(model, tp, seq_len):
    """NeMo's llama2_7b finetune recipe sets TP 2 for full SFT; its Llama-2 13B SFT uses TP 4."""
    p = plan(model, "sft", seq_len, "a100-80gb", gpus=8)
    assert p.fits and _layout(p) == (8, tp, 1) and p.layout.dp == 8 // tp


def test_full_sft_of_7b_needs_tp2_at_least():
    p = plan("llama-2-7b", "sft", 4096, "h100-80gb")
    assert p.fits and (p.layout.tp, p.layout.pp) == (2, 1)
    assert not plan("llama-2-7b", "sft", 4096, "h100-80gb", max_gpus=1).fits


@pytest.mark.parametrize("model", ["llama-2-7b", "llama-2-13b", "llama-3-8b", "mistral-7b"])
@pytest.mark.parametrize("gpu", ["a100-80gb", "h100-80gb"])
def test_lora_of_7b_and_13b_fits_one_80gb_gpu(model, gpu):
    p = plan(model, "lora", 4096, gpu)
    assert p.fits and _layout(p) == (1, 1, 1)


@pytest.mark.parametrize("model", ["llama-2-70b", "llama-3-70b"])
def test_lora_of_70b_needs_at_least_four_80gb_gpus(model):
    p = plan(model, "lora", 4096, "h100-80gb")
    assert p.fits and p.layout.gpus >= 4 and p.layout.pp == 1
    assert not plan(model, "lora", 4096, "h100-80gb", max_gpus=2).fits


def test_full_sft_of_70b_does_not_fit_16_gpus_with_tensor_parallelism_alone():
    p = plan("llama-2-70b", "sft", 4096, "a100-80gb", gpus=16, pipeline=False)
    assert not p.fits and p.layout.pp == 1 and p.layout.tp == 8
    assert p.memory.total > sizing.GPUS["a100-80gb"].usable
    assert "pipeline" in p.advice and p.needs.pp > 1
    assert not plan("llama-2-70b", "sft", 4096, "a100-80gb", max_gpus=16).fits


@pytest.mark.parametrize("model", ["llama-2-70b", "llama-3-70b"])
def test_full_sft_of_70b_matches_megatron_bridge_tp8_pp4(model):
    """Megatron-Bridge's llama3_70b_sft_config: TP 8, PP 4 (32 GPUs), sequence length 4096."""
    p = plan(model, "sft", 4096, "h100-80gb")
    assert p.fits and _layout(p) == (32, 8, 4)


def test_distributed_optimizer_shards_sft_optimizer_state_over_data_parallel_ranks():
    """NeMo's performance-mode 7B recipe runs TP 1 once the optimizer state is sharded over 8 ranks."""
    p = plan("llama-2-7b", "sft", 4096, "a100-80gb", gpus=8, distributed_optimizer=True)
    assert p.fits and (p.layout.tp, p.layout.dp) == (1, 8)
    job = make_job(KNOWN_MODELS["llama-2-7b"], method="sft", seq_len=4096, distributed_optimizer=True)
    shards = [estimate(KNOWN_MODELS["llama-2-7b"], job, Layout(1, 1, dp)).optimizer for dp in (1, 2, 8)]
    assert shards[0] == pytest.approx(2 * shards[1]) == pytest.approx(8 * shards[2])


def test_qlora_fits_65b_on_one_48gb_gpu_as_in_the_qlora_paper():
    p = plan("llama-65b", "qlora", 512, "a6000-48gb")
    assert p.fits and _layout(p) == (1, 1, 1)
    assert not plan("llama-65b", "lora", 512, "a6000-48gb", max_gpus=1).fits


def test_qlora_of_70b_fits_one_80gb_gpu():
    assert _layout(plan("llama-2-70b", "qlora", 4096, "h100-80gb")) == (1, 1, 1)


# --- memory model ---------------------------------------------------------------------------------------

def _memory(model: str, method: str, seq_len: int, layout=Layout(1, 1), **settings) -> float:
    arch = KNOWN_MODELS[model]
    return estimate(arch, make_job(arch, method=method, seq_len=seq_len, **settings), layout).total


@pytest.mark.parametrize("method", sizing.METHODS)
def test_longer_sequences_need_more_memory(method):
    totals = [_memory("llama-2-7b", method, s) for s in (512, 1024, 2048, 4096)]
    assert totals == sorted(totals) and len(set(totals)) == 4


@pytest.mark.parametrize("model", ["llama-2-7b", "llama-2-70b", "smollm2-135m"])
def test_qlora_needs_less_than_lora_which_needs_less_than_sft(model):
    settings = {"recompute": "selective"}
    qlora, lora, sft = (_memory(model, m, 2048, **settings) for m in ("qlora", "lora", "sft"))
    assert qlora < lora < sft


def test_more_parallelism_or_smaller_batches_need_less_memory_per_gpu():
    by_tp = [_memory("llama-2-13b", "sft", 4096, Layout(tp, 1)) for tp in (1, 2, 4, 8)]
    by_batch = [_memory("llama-2-13b", "lora", 4096, Layout(1, 1, 1, b)) for b in (1, 2, 4)]
    assert by_tp == sorted(by_tp, reverse=True) and by_batch == sorted(by_batch)
    assert _memory("llama-2-7b", "lora", 4096, recompute="full") < _memory("llama-2-7b", "lora", 4096)


def test_the_planned_micro_batch_is_the_largest_that_fits():
    p = plan("llama-2-7b", "lora", 4096, "a100-80gb")
    bigger = replace(p.layout, micro_batch=p.layout.micro_batch * 2)
    assert estimate(p.arch, p.job, p.layout).total <= p.gpu.usable < estimate(p.arch, p.job, bigger).total


def test_parameter_counts_match_transformers_and_peft():
    """Total, LoRA and P-tuning parameter counts equal those of real (meta-device) models, GQA included."""
    import torch
    from peft import LoraConfig, PromptEncoderConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    arch = replace(KNOWN_MODELS["llama-3-8b"], layers=2)
    config = LlamaConfig(hidden_size=arch.hidden, intermediate_size=arch.intermediate, num_hidden_layers=2,
                         num_attention_heads=arch.heads, num_key_value_heads=arch.kv_heads,
                         vocab_size=arch.vocab, tie_word_embeddings=False)
    for method, peft_config in [("lora", LoraConfig(r=8, target_modules="all-linear")),
                                ("ptuning", PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=20))]:
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        assert sum(p.numel() for p in model.parameters()) == arch.total_params
        trainable = sum(p.numel() for p in get_peft_model(model, peft_config).parameters() if p.requires_grad)
        job = make_job(arch, method=method, seq_len=16, lora_targets="all-linear", virtual_tokens=20)
        assert trainable == sizing.trainable_params(arch, job)


def test_published_parameter_counts():
    assert KNOWN_MODELS["llama-2-7b"].total_params == 6_738_415_616
    assert round(KNOWN_MODELS["llama-2-70b"].total_params / 1e9, 2) == 68.98
    assert round(KNOWN_MODELS["smollm2-135m"].total_params / 1e6, 1) == 134.5
    job = make_job(KNOWN_MODELS["llama-2-7b"], method="lora", seq_len=16, lora_rank=8, lora_targets="q_proj,v_proj")
    assert sizing.trainable_params(KNOWN_MODELS["llama-2-7b"], job) == 4_194_304


def test_activation_formula_is_close_to_what_a_transformers_llama_layer_keeps():
    """The formula (fused kernels, bf16) stays below HF eager, which also keeps fp32 RMSNorm copies, by < 40%."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    arch = sizing.Arch("probe", 1, 256, 688, 8, 2, 1000, 4096)
    config = LlamaConfig(hidden_size=256, intermediate_size=688, num_attention_heads=8, num_key_value_heads=2,
                         num_hidden_layers=1, vocab_size=1000, attn_implementation="sdpa")
    layer = LlamaDecoderLayer(config, 0).to(torch.bfloat16)
    tokens = 512
    x = torch.randn(1, tokens, 256, dtype=torch.bfloat16, requires_grad=True)
    position_ids = torch.arange(tokens)[None]
    saved = {}

    def keep(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        layer(x, position_ids=position_ids, position_embeddings=LlamaRotaryEmbedding(config)(x, position_ids))
    not_activations = {p.untyped_storage().data_ptr() for p in layer.parameters()}
    kept = sum(n for ptr, n in saved.items() if ptr not in not_activations)
    formula = sizing.layer_activation_bytes(arch, make_job(arch, method="sft", seq_len=tokens), tokens)
    assert 0.7 * kept <= formula <= kept


# --- models, GPUs and errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, known", [
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2-7b"), ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b"),
    ("mistralai/Mistral-7B-Instruct-v0.2", "mistral-7b"), ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m"),
    ("smollm2-135m-instruct", "smollm2-135m"), ("Llama-2-13B", "llama-2-13b"),
])
def test_hub_ids_and_variants_resolve_to_the_known_shape(name, known):
    assert sizing.resolve_model(name)[0] is KNOWN_MODELS[known]


def test_a_local_hugging_face_dir_is_read_from_its_config_json(tmp_path):
    smol = KNOWN_MODELS["smollm2-135m"]
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "llama", "hidden_size": 576, "num_hidden_layers": 30, "intermediate_size": 1536,
        "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "head_dim": 64,
        "max_position_embeddings": 8192, "tie_word_embeddings": True}))
    arch, _ = sizing.resolve_model(str(tmp_path))
    assert arch.total_params == smol.total_params and arch.context == 8192
    assert plan(str(tmp_path), "lora", 8192, "a100-40gb").fits
    with pytest.raises(TunepipeError, match="beyond .* context of 8192"):
        plan(str(tmp_path), "lora", 8193)


def test_a_hugging_face_dir_without_the_shape_keys_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
    with pytest.raises(TunepipeError, match="lacks num_hidden_layers"):
        sizing.resolve_model(str(tmp_path))


def test_a_tunepipe_config_supplies_model_method_sequence_length_and_lora_settings():
    p = plan("examples/demo.yaml")
    demo = yaml.safe_load(open("examples/demo.yaml"))
    assert p.arch is KNOWN_MODELS["smollm2-135m"] and p.fits and _layout(p) == (1, 1, 1)
    assert (p.job.method, p.job.seq_len, p.job.lora_rank) == ("lora", demo["model"]["max_seq_len"], 16)
    assert p.job.lora_targets == tuple(demo["training"]["lora"]["target_modules"])
    assert plan("examples/demo.yaml", "sft", 8192, lora_rank=4).job.seq_len == 8192


@pytest.mark.parametrize("call, message", [
    (lambda: plan("llama-9b", "lora", 512), "unknown model 'llama-9b': known models are llama-2-7b"),
    (lambda: plan("llama-2-7b", "lora", 512, "v100"), "unknown --gpu 'v100': choose one of a100-40gb"),
    (lambda: plan("llama-2-7b", "lora", 8192), "--seq-len 8192 is beyond llama-2-7b's context of 4096"),
    (lambda: plan("llama-2-7b", "dpo", 512), "--method must be one of lora, qlora, ptuning, sft"),
    (lambda: plan("llama-2-7b", "lora"), "--seq-len is required"),
    (lambda: plan("llama-2-7b", "lora", 512, lora_targets="qkv"), "unknown LoRA target module"),
    (lambda: plan("llama-2-7b", "lora", 512, recompute="some"), "--recompute must be one of"),
    (lambda: plan("llama-2-7b", "lora", 512, max_gpus=0), "--max-gpus must be at least 1"),
    (lambda: plan("missing.yaml"), "config file missing.yaml not found"),
])
def test_bad_input_is_a_tunepipe_error(call, message):
    with pytest.raises(TunepipeError) as err:
        call()
    assert message in str(err.value)


# --- CLI -----------------------------------------------------------------------------------------------

def _cli(*args):
    return runner.invoke(app, ["plan", *args])


def test_cli_json_has_the_documented_keys():
    result = _cli("--model", "llama-2-13b", "--method", "sft", "--seq-len", "4096", "--gpu", "a100-80gb",
                  "--gpus", "8", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert JSON_KEYS <= set(out)
    assert (out["fits"], out["gpus"], out["tensor_parallel"], out["pipeline_parallel"]) == (True, 8, 4, 1)
    assert 0 < out["memory_per_gpu_gb"] <= out["usable_per_gpu_gb"]


def test_cli_reports_a_run_that_does_not_fit_and_what_it_needs():
    result = _cli("--model", "llama-2-70b", "--method", "sft", "--seq-len", "4096", "--gpu", "h100-80gb",
                  "--gpus", "16", "--no-pipeline", "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == 0 and out["fits"] is False and out["pipeline_parallel"] == 1
    assert (out["needs"]["tp"], out["needs"]["pp"], out["needs"]["gpus"]) == (8, 4, 32)
    text = _cli("--model", "llama-2-70b", "--method", "sft", "--seq-len", "4096", "--max-gpus", "16").stdout
    assert "does not fit" in text and "needs 32 x h100-80gb" in text


def test_cli_prints_a_readable_plan_from_a_config():
    result = _cli("--model", "examples/demo.yaml", "--lora-targets", "all-linear", "--lora-rank", "64")
    assert result.exit_code == 0, result.output
    assert "lora of smollm2-135m" in result.stdout and "fits" in result.stdout and "activations" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--model", "gpt-9", "--method", "lora", "--seq-len", "512"], "unknown model 'gpt-9'"),
    (["--model", "llama-2-7b", "--method", "lora", "--seq-len", "512", "--gpu", "tpu"], "unknown --gpu 'tpu'"),
    (["--model", "llama-2-7b", "--method", "sft", "--seq-len", "5000"], "beyond llama-2-7b's context of 4096"),
])
def test_cli_errors_are_one_red_line(args, fragment):
    result = _cli(*args)
    assert result.exit_code == 1
    assert fragment in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output
