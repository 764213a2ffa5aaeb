"""Serving sizing against published points, and `tunepipe plan --serve`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tunepipe.cli import app
from tunepipe.deploy.plan import plan_serving, step_seconds
from tunepipe.errors import TunepipeError
from tunepipe.training.sizing import GIB, GPUS, KNOWN_MODELS

runner = CliRunner()


@pytest.mark.parametrize("dtype, gpu", [("fp8", "h100-80gb"), ("bf16", "h100-80gb"), ("bf16", "a100-80gb")])
def test_an_8b_model_fits_one_80gb_gpu(dtype, gpu):
    result = plan_serving("meta-llama/Llama-3.1-8B-Instruct", gpu, 1024, 256, dtype=dtype)
    assert result.fits and result.tp == 1 and result.max_batch >= 32
    weights = KNOWN_MODELS["llama-3.1-8b"].total_params * (1 if dtype == "fp8" else 2)
    assert result.weights_gib == pytest.approx(weights / GIB)


def test_a_70b_model_in_bf16_needs_at_least_two_80gb_gpus_for_its_weights():
    weights = KNOWN_MODELS["llama-3.1-70b"].total_params * 2
    assert weights > GPUS["h100-80gb"].memory_mib * 2**20
    assert not plan_serving("llama-3.1-70b", "h100-80gb", 1024, 256, tp=1).fits
    result = plan_serving("llama-3.1-70b", "h100-80gb", 1024, 256)
    assert result.fits and result.tp >= 2 and result.weights_gib * result.tp > 80


def test_the_8b_fp8_h100_estimate_is_near_the_published_trtllm_bench_throughput():
    """TensorRT-LLM's published Llama-3.1-8B FP8, one H100, 128/128 tokens: 28,312 output tokens/s."""
    result = plan_serving("llama-3.1-8b", "h100-80gb", 128, 128, dtype="fp8")
    assert result.tokens_per_s == pytest.approx(28312, rel=0.25)


def test_a_latency_target_shrinks_the_batch_or_raises_tp():
    free = plan_serving("llama-3.1-8b", "h100-80gb", 512, 128)
    bounded = plan_serving("llama-3.1-8b", "h100-80gb", 512, 128, target_p95_ms=2000)
    assert bounded.meets_target and bounded.latency_ms <= 2000
    assert bounded.max_batch < free.max_batch or bounded.tp > free.tp
    tight = plan_serving("llama-3.1-8b", "h100-80gb", 512, 128, target_p95_ms=300)
    assert tight.tp > 1 and tight.latency_ms <= 300


def test_an_impossible_target_says_what_to_change():
    result = plan_serving("llama-3.1-70b", "a100-40gb", 1024, 1024, target_p95_ms=100)
    assert not result.meets_target and "raise --target-p95-ms" in result.advice


def test_decode_is_memory_bound_at_batch_one():
    """One sequence: a decode step reads all weights once, so it takes about weights / bandwidth."""
    single = plan_serving("llama-3.1-8b", "h100-80gb", 128, 16, tp=1)
    weights = KNOWN_MODELS["llama-3.1-8b"].total_params * 2
    step = step_seconds(single.arch, single.gpu, single.request, 1, 1)
    assert step == pytest.approx(weights / (3350e9 * 0.8), rel=0.05)


def test_fp8_on_a_gpu_without_fp8_is_a_clear_error():
    with pytest.raises(TunepipeError, match="no fp8 tensor cores"):
        plan_serving("llama-3.1-8b", "a100-80gb", dtype="fp8")


def test_cli_plan_serve_json_and_table():
    result = runner.invoke(app, ["plan", "--serve", "--model", "llama-3.1-8b", "--gpu", "h100-80gb",
                                 "--input-tokens", "512", "--output-tokens", "128", "--target-p95-ms", "2000",
                                 "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {"tensor_parallel", "max_batch_size", "ttft_ms", "tpot_ms", "weights_per_gpu_gb",
            "kv_cache_per_gpu_gb", "assumptions"} <= set(plan)
    table = runner.invoke(app, ["plan", "--serve", "--model", "llama-3.1-70b", "--gpu", "h100-80gb"])
    assert table.exit_code == 0 and "tensor parallel 2" in table.output and "assumptions:" in table.output
    bad = runner.invoke(app, ["plan", "--serve", "--model", "llama-3.1-8b", "--gpu", "a100-80gb", "--dtype", "fp8"])
    assert bad.exit_code == 1 and "fp8" in bad.output
