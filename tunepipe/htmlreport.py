"""Building blocks of the self-contained reports (data card, dataset review): tables, PNG charts, CSS.

Charts are rendered with matplotlib (Agg) to PNG and embedded as data URIs, so one HTML file shows
complete in the Kubeflow UI and as an MLflow artifact; the Markdown twins get the same tables.
"""

from __future__ import annotations

import base64
import html
import io

MAX_EXAMPLE_CHARS = 600

CSS = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code,pre{background:#f4f4f4;border-radius:4px}pre{padding:.7em;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .8em;text-align:left}
td.n{text-align:right}.status{padding:.6em 1em;border-radius:6px;font-weight:600}
.pending{background:#fff4d6}.approved{background:#dff5e1}.rejected{background:#fde0e0}
.example{border-left:4px solid #bbb;padding-left:1em;margin:1em 0}
"""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> str:
    """A matplotlib figure as base64 PNG; the figure is closed."""
    buf = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=100)
    finally:
        _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def bar_chart(title: str, items: list[tuple[str, int]], color: str) -> str | None:
    """Horizontal bars with their values, largest first; None when there is nothing to draw."""
    if not items:
        return None
    fig, ax = _pyplot().subplots(figsize=(7, 0.45 * len(items) + 1.2))
    labels, values = [str(k) for k, _ in items][::-1], [v for _, v in items][::-1]
    bars = ax.barh(labels, values, color=color)
    ax.bar_label(bars, padding=3)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(values + [1]) * 1.15)
    return png(fig)


def histogram_chart(title: str, series: dict[str, list[tuple[float, int]]], xlabel: str) -> str | None:
    """Pre-binned histograms side by side: {name: [(bin start, count), ...]}."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    fig, axes = _pyplot().subplots(1, len(series), figsize=(4 * len(series), 3.2), squeeze=False)
    for ax, (name, bins) in zip(axes[0], series.items()):
        width = bins[1][0] - bins[0][0] if len(bins) > 1 else 1
        ax.bar([b for b, _ in bins], [c for _, c in bins], width=width, align="edge", color="#4c78a8")
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("rows")
    fig.suptitle(title)
    return png(fig)


def img(png_b64: str | None, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png_b64}'>" if png_b64 else ""


def html_table(header: tuple[str, ...], rows: list, empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    e = html.escape

    def cell(i: int, v) -> str:
        return f"<td class='n'>{v}</td>" if i and isinstance(v, (int, float)) else f"<td>{e(str(v))}</td>"

    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def md_table(header: tuple[str, ...], rows: list, empty: str) -> list[str]:
    if not rows:
        return [empty]
    align = "|".join(["---"] + ["---:"] * (len(header) - 1))
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return [f"| {' | '.join(header)} |", f"|{align}|", *(f"| {' | '.join(esc(v) for v in r)} |" for r in rows)]


def clip(text: str | None, limit: int = MAX_EXAMPLE_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + " …"
