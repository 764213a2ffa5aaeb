"""The evaluation report a reviewer promotes on: one self-contained HTML page (Kubeflow UI, MLflow artifact),
its Markdown twin for the Kubeflow UI, and the comparison section of the registered version's model card.

It renders the evaluation result dict (see `tunepipe.evaluation.evaluate`): metric bars for base / candidate /
champion with the paired-bootstrap interval as whiskers, the champion note, the differences with their
intervals, the gate's checks, the per-slice table, and the largest wins and regressions side by side.
Charts are matplotlib PNGs embedded as data URIs (`tunepipe.htmlreport`); all text is escaped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from tunepipe import htmlreport
from tunepipe.config import Config

MODEL_ORDER = ("base", "candidate", "champion")
COLORS = {"base": "#9e9e9e", "candidate": "#4c78a8", "champion": "#f58518"}
MAX_CHART_METRICS = 12


def write_report(cfg: Config, result: dict, html_path: Path, md_path: Path | None = None) -> None:
    """Write the HTML report to `html_path` and, when given, its Markdown twin to `md_path`."""
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(cfg, result))
    if md_path is not None:
        Path(md_path).write_text(render_markdown(result))


def models(result: dict) -> list[str]:
    present = [m for m in result.get("metrics", {})]
    return [m for m in MODEL_ORDER if m in present] + [m for m in present if m not in MODEL_ORDER]


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _interval(low, high) -> str:
    return "–" if low is None or high is None else f"[{low:+.4g}, {high:+.4g}]"


def metric_rows(result: dict) -> tuple[tuple[str, ...], list[tuple]]:
    names = models(result)
    metrics = list(dict.fromkeys(m for name in names for m in result["metrics"][name]))
    rows = []
    for metric in metrics:
        cells = [result["metrics"][name].get(metric) or {} for name in names]
        values = [fmt(c.get("value")) if c.get("value") is not None else f"not computed: {c.get('reason') or '?'}"
                  for c in cells]
        rows.append((metric, *values, max((c.get("n") or 0) for c in cells)))
    return ("metric", *names, "n"), rows


def delta_rows(result: dict) -> list[tuple]:
    return [(pair, metric, f"{d['value']:+.4g}", _interval(d.get("low"), d.get("high")), d.get("n", ""))
            for pair, table in result.get("deltas", {}).items() for metric, d in table.items()]


def gate_rows(result: dict) -> list[tuple]:
    rows = []
    for c in (result.get("gate") or {}).get("checks", []):
        passed = "skipped" if c.get("skipped") else {True: "yes", False: "NO", None: "undecidable"}[c.get("passed")]
        rows.append((c["name"], fmt(c.get("value")), _interval(c.get("low"), c.get("high")),
                     f"{c.get('op', '')} {fmt(c.get('threshold'))}", c.get("n", ""), passed, c.get("reason") or ""))
    return rows


def gate_line(result: dict) -> tuple[str, str]:
    gate = result.get("gate")
    if not gate:
        return "pending", "Gate: not decided yet."
    if gate.get("passed"):
        return "passed", f"Gate passed: {len(gate.get('checks', []))} check(s); the candidate may be registered."
    if not gate.get("decidable", True):
        return "failed", "Gate undecidable, nothing is registered: " + "; ".join(gate.get("reasons", []))
    return "failed", "Gate failed, nothing is registered: " + "; ".join(gate.get("reasons", []))


def slice_rows(result: dict) -> tuple[tuple[str, ...], list[tuple]]:
    names = models(result)
    table: dict[tuple[str, str], dict] = {}
    for s in result.get("slices", []):
        cell = table.setdefault((s["slice"], s["metric"]), {"n": 0})
        cell[s["model"]] = s["value"]
        cell["n"] = max(cell["n"], s.get("n") or 0)
    rows = [(sl, metric, *(fmt(cell.get(m)) for m in names), cell["n"]) for (sl, metric), cell in table.items()]
    return ("slice", "metric", *names, "n"), rows


def _scores_text(scores: dict) -> str:
    return ", ".join(f"{k} {fmt(v, 3)}" for k, v in (scores or {}).items())


def example_views(result: dict) -> list[dict]:
    views = []
    for i, ex in enumerate(result.get("examples", []), 1):
        kind = {"win": "win", "regression": "regression"}.get(ex.get("kind"), "example")
        title = f"{i}. {kind} ({ex.get('shape') or '?'}, source {ex.get('source') or '?'})"
        answers = [(m, htmlreport.clip(a), _scores_text(ex.get("scores", {}).get(m)))
                   for m, a in sorted(ex.get("answers", {}).items(), key=lambda kv: _order(kv[0]))]
        views.append({"title": title, "prompt": htmlreport.clip(ex.get("prompt")),
                      "reference": htmlreport.clip(ex.get("reference")),
                      "contexts": [htmlreport.clip(c) for c in ex.get("contexts") or []], "answers": answers})
    return views


def _order(model: str) -> int:
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


def facts(result: dict) -> list[tuple[str, str]]:
    test = result.get("test", {})
    kind = "split.fixed_test_dir" if test.get("fixed") else "this run's test split"
    rows = [("test set", f"{test.get('dir', '?')} ({kind})"),
            ("test digest", str(test.get("digest", ""))[:16]), ("test rows", fmt(test.get("n_rows")))]
    for name, info in result.get("models", {}).items():
        rows.append((name, info["ref"] if info else "none"))
    return rows


def metrics_chart(result: dict) -> str | None:
    """One panel per metric: a bar per model; on the candidate, base + the 95% interval of its gain."""
    names = models(result)
    metrics = [m for m in dict.fromkeys(k for n in names for k in result["metrics"][n])
               if any((result["metrics"][n].get(m) or {}).get("value") is not None for n in names)]
    metrics = metrics[:MAX_CHART_METRICS]
    if not metrics:
        return None
    plt = htmlreport._pyplot()
    cols = min(4, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        _metric_panel(ax, result, names, metric)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    return htmlreport.png(fig)


def _metric_panel(ax, result: dict, names: list[str], metric: str) -> None:
    values = [(result["metrics"][n].get(metric) or {}).get("value") for n in names]
    heights = [v if v is not None else 0.0 for v in values]
    bars = ax.bar(names, heights, color=[COLORS.get(n, "#72b7b2") for n in names])
    for bar, v in zip(bars, values):
        if v is None:
            bar.set_hatch("//")
            bar.set_alpha(0.3)
    whisker = _candidate_whisker(result, names, metric)
    if whisker:
        x, center, low, high = whisker
        ax.errorbar([x], [center], yerr=[[center - low], [high - center]], fmt="none", ecolor="black", capsize=5)
    ax.set_title(metric, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def _candidate_whisker(result: dict, names: list[str], metric: str):
    delta = result.get("deltas", {}).get("candidate-base", {}).get(metric)
    base = (result["metrics"].get("base", {}).get(metric) or {}).get("value")
    cand = (result["metrics"].get("candidate", {}).get(metric) or {}).get("value")
    if not delta or base is None or cand is None or "candidate" not in names:
        return None
    return names.index("candidate"), cand, base + delta["low"], base + delta["high"]


def render_html(cfg: Config, result: dict) -> str:
    gate_class, line = gate_line(result)
    metric_header, metric_table = metric_rows(result)
    slice_header, slice_table = slice_rows(result)
    return htmlreport.render(
        "evaluation.html.j2", title=f"{cfg.registry.model_name} candidate vs base vs champion", gate_class=gate_class,
        gate_line=line, champion_note=result.get("champion_note", ""), facts=facts(result),
        metrics_chart=metrics_chart(result), metric_header=metric_header, metric_rows=metric_table,
        delta_rows=delta_rows(result), gate_rows=gate_rows(result), slice_header=slice_header,
        slice_rows=slice_table, examples=example_views(result),
    )


def _md(value) -> str:
    return html.escape(str(value), quote=False).replace("`", "\\`")


def _md_table(header: tuple, rows: list, empty: str) -> list[str]:
    return htmlreport.md_table(tuple(_md(h) for h in header), [tuple(_md(v) for v in r) for r in rows], _md(empty))


def render_markdown(result: dict) -> str:
    """The Kubeflow UI's Markdown view: verdict, champion note, metrics, differences, gate, slices, examples."""
    _, line = gate_line(result)
    metric_header, metric_table = metric_rows(result)
    slice_header, slice_table = slice_rows(result)
    lines = ["# Evaluation", "", f"**{_md(line)}**", "", _md(result.get("champion_note", "")), "",
             *_md_table(("", ""), facts(result), ""), "", "## Metrics", "",
             *_md_table(metric_header, metric_table, "No metric was computed."), "",
             "## Differences (95% paired-bootstrap intervals)", "",
             *_md_table(("comparison", "metric", "difference", "95% interval", "n"), delta_rows(result),
                        "No paired comparison."), "", "## Gate", "",
             *_md_table(("check", "value", "95% interval", "threshold", "n", "passed", "reason"), gate_rows(result),
                        "The gate has not decided yet."), "", "## Per slice", "",
             *_md_table(slice_header, slice_table, "No slices."), "", "## Largest wins and regressions", ""]
    for ex in example_views(result):
        rows = [(m, htmlreport.clip(a, 200), s) for m, a, s in ex["answers"]]
        lines += [f"### {_md(ex['title'])}", "", f"Prompt: {_md(htmlreport.clip(ex['prompt'], 200))}", "",
                  f"Reference: {_md(htmlreport.clip(ex['reference'], 200))}", "",
                  *_md_table(("model", "answer", "scores"), rows, ""), ""]
    return "\n".join(lines) + "\n"


def model_card_section(result: dict) -> str:
    """The model card's comparison (a `###` section under the card's evaluation heading): each model's
    metrics, the differences with their intervals, the gate's verdict."""
    names = models(result)
    deltas = result.get("deltas", {})
    pairs = [p for p in ("candidate-base", "candidate-champion") if p in deltas]
    header = ("metric", *names, *(f"{p.split('-')[1]} difference [95%]" for p in pairs))
    rows = []
    for metric, *values in metric_rows(result)[1]:
        diffs = []
        for p in pairs:
            d = deltas[p].get(metric)
            diffs.append(f"{d['value']:+.4g} {_interval(d.get('low'), d.get('high'))}" if d else "–")
        rows.append((metric, *values[: len(names)], *diffs))
    test = result.get("test", {})
    _, line = gate_line(result)
    return "\n".join([
        "### Comparison with base and champion", "",
        _md(f"Held-out test set {str(test.get('digest', ''))[:12]} ({test.get('n_rows', '?')} rows"
            f"{', fixed' if test.get('fixed') else ''}). {result.get('champion_note', '')}"), "",
        *_md_table(header, rows, "No metric was computed."), "", _md(line), "",
    ])
