"""`tunepipe evaluate`: score registered versions or local model dirs on the configured test split,
outside a pipeline run, with the same metrics, intervals, gate decision and report as the evaluate step."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from tunepipe.cli.common import SetOpt, console, friendly
from tunepipe.errors import TunepipeError

app = typer.Typer()


def model_names(refs: list[str]) -> dict[str, str]:
    """The first model is `candidate`, the next `candidate2`, ...: each is gated on its own."""
    return {("candidate" if i == 0 else f"candidate{i + 1}"): ref for i, ref in enumerate(refs)}


@app.command()
@friendly
def evaluate(config: Path,
             model: list[str] = typer.Option(..., "--model", "-m",
                                             help="models:/NAME/VERSION, models:/NAME@ALIAS or a local model dir "
                                                  "(repeat to compare several)"),
             against: str = typer.Option("base", help="base, or champion: also compare with the registry's champion"),
             test: Optional[Path] = typer.Option(None, help="Test split dir (default: split.fixed_test_dir)"),
             out: Optional[Path] = typer.Option(None, "--out", "-o",
                                                help="Report dir (default: <data_dir>/evaluations/<UTC time>)"),
             set_: list[str] = SetOpt):
    """Base vs the given models (vs the champion): metrics with 95% intervals, a gate decision for every
    --model, HTML report."""
    from tunepipe.config import load_config
    from tunepipe.evaluation.evaluate import evaluate_models
    from tunepipe.report import _metrics_table
    from tunepipe.tracking import stage_run

    if against not in ("base", "champion"):
        raise TunepipeError(f"--against {against!r}: use base or champion")
    cfg = load_config(config, set_)
    test_dir = str(test) if test else cfg.split.fixed_test_dir
    if not test_dir:
        raise TunepipeError("no test split: pass --test DIR (e.g. the splits/test of `tunepipe prepare`) or set "
                            "split.fixed_test_dir")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or Path(cfg.project.data_dir) / "evaluations" / stamp
    with stage_run(cfg, "evaluate") as run:
        result = evaluate_models(cfg, model_names(model), test_dir, str(out_dir / "report.html"),
                                 against_champion=against == "champion")
    console.print(_metrics_table(result))
    for name, ref in model_names(model).items():
        gate = result["gates"][name]
        console.print(f"eval gate        {name} ({ref}): {'passed' if gate['passed'] else 'NOT PASSED'}"
                      + "".join(f"\n  - {r}" for r in gate["reasons"]), highlight=False)
    console.print(f"report           {out_dir / 'report.html'}\nMLflow run       {run.info.run_id}", highlight=False)
