"""`tunepipe plan`: hardware sizing of a fine-tuning run, or with --serve of serving a model."""

from __future__ import annotations

import json
from typing import Optional

import typer

from tunepipe.cli.common import console, friendly

app = typer.Typer()


@app.command()
@friendly
def plan(model: str = typer.Option(..., "--model", "-m",
                                   help="Known model (llama-2-7b, ...), a local Hugging Face model dir or a config YAML"),
         method: Optional[str] = typer.Option(None, help="lora, qlora, ptuning or sft (default: training.method)"),
         seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Tokens per sample (default: model.max_seq_len)"),
         gpu: str = typer.Option("h100-80gb", help="a100-40gb, a100-80gb, h100-80gb, h200, l40s-48gb, a6000-48gb"),
         gpus: Optional[int] = typer.Option(None, help="Lay out exactly this many GPUs (default: the fewest that fit)"),
         max_gpus: int = typer.Option(64, "--max-gpus", help="Search at most this many GPUs"),
         pipeline: bool = typer.Option(True, "--pipeline/--no-pipeline", help="--no-pipeline: tensor parallelism only"),
         distributed_optimizer: bool = typer.Option(False, "--distributed-optimizer",
                                                    help="SFT: shard optimizer state over data-parallel ranks"),
         recompute: Optional[str] = typer.Option(None, help="selective or full (default: full for qlora, else selective)"),
         lora_rank: Optional[int] = typer.Option(None, "--lora-rank", help="LoRA rank (default: training.lora.r)"),
         lora_targets: Optional[str] = typer.Option(None, "--lora-targets", help="q_proj,v_proj,... or all-linear"),
         serve: bool = typer.Option(False, "--serve", help="Size serving instead of training (trtllm-serve)"),
         input_tokens: int = typer.Option(1024, "--input-tokens", help="--serve: prompt tokens per request"),
         output_tokens: int = typer.Option(256, "--output-tokens", help="--serve: generated tokens per request"),
         target_p95_ms: Optional[float] = typer.Option(None, "--target-p95-ms",
                                                       help="--serve: end-to-end request latency to meet"),
         dtype: str = typer.Option("bf16", help="--serve: bf16 or fp8 weights and KV cache"),
         tp: Optional[int] = typer.Option(None, "--tp",
                                          help="--serve: this tensor-parallel size (default: the smallest that fits)"),
         as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON")):
    """Size a fine-tuning run (memory per GPU, GPUs, TP/PP/DP, micro-batch), or with --serve a server
    (weights + KV cache per GPU, TP, largest batch, time to first token and per output token)."""
    if serve:
        return _plan_serving(model, gpu, input_tokens, output_tokens, target_p95_ms, dtype, tp, as_json)
    from tunepipe.training.sizing import plan as make_plan, print_plan

    result = make_plan(model, method, seq_len, gpu, gpus=gpus, max_gpus=max_gpus, pipeline=pipeline,
                       distributed_optimizer=distributed_optimizer, recompute=recompute, lora_rank=lora_rank,
                       lora_targets=lora_targets)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_plan(console, result)


def _plan_serving(model, gpu, input_tokens, output_tokens, target_p95_ms, dtype, tp, as_json) -> None:
    from tunepipe.deploy.plan import plan_serving, print_serve_plan

    result = plan_serving(model, gpu, input_tokens, output_tokens, target_p95_ms, dtype, tp)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_serve_plan(console, result)
