"""The training plan for a person: a rich table of the layout and the memory per GPU by part."""

from __future__ import annotations

from tunepipe.training.sizing.catalogue import GIB
from tunepipe.training.sizing.layout import Plan
from tunepipe.training.sizing.memory import trainable_params


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def print_plan(console, result: Plan) -> None:
    """The plan for a person: the layout, the per-GPU memory by part, and what to change when it does not fit."""
    from rich.table import Table

    arch, job, lay = result.arch, result.job, result.layout
    verdict = "[green]fits[/]" if result.fits else "[red]does not fit[/]"
    console.print(f"{job.method} of {arch.name} ({_count(arch.total_params)} params, "
                  f"{_count(trainable_params(arch, job))} trainable), {job.seq_len} tokens, "
                  f"recompute {job.recompute}: {verdict}")
    shown = "layout" if result.fits else "closest layout tried"
    console.print(f"{shown}: {lay.gpus} x {result.gpu.name}, tensor parallel {lay.tp}, pipeline parallel {lay.pp}, "
                  f"data parallel {lay.dp}, micro-batch {lay.micro_batch}")
    table = Table("part", "GiB per GPU", title="Memory on the fullest GPU")
    for part, gib in result.memory.gib().items():
        table.add_row(part, f"{gib:.1f}")
    table.add_row("usable (90%)", f"{result.gpu.usable / GIB:.1f}")
    console.print(table)
    if result.advice:
        console.print(result.advice, highlight=False)
