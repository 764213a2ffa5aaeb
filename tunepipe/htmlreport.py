"""The self-contained HTML reports (data card, dataset review, evaluation): one page shell and one
stylesheet (Jinja2 templates in `tunepipe/templates`, autoescaped), one PNG encoder, tables for both
HTML and the Markdown twins.

Charts are rendered with matplotlib (Agg) to PNG and embedded as data URIs, so one HTML file shows
complete in the Kubeflow UI and as an MLflow artifact, and requests nothing from the network.
"""

from __future__ import annotations

import base64
import functools
import io

MAX_EXAMPLE_CHARS = 600

@functools.cache
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("tunepipe", "templates"), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html", "j2")),
                       trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context) -> str:
    """A report page from its template (which extends `page.html.j2`); every value is escaped."""
    return _environment().get_template(template).render(**context)


def page(title: str, body) -> str:
    """The shared page shell around `body`: pass a `markupsafe.Markup` (from `html_table`, `img`, ...)."""
    return render("page.html.j2", title=title, body=body)


def _macro(name: str):
    return getattr(_environment().get_template("macros.html.j2").module, name)


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


def img(png_b64: str | None, alt: str):
    """An embedded PNG (escaped Markup), or nothing when there is no chart."""
    return _macro("chart")(png_b64, alt)


def html_table(header: tuple[str, ...], rows: list, empty: str):
    """A table with numbers right-aligned (escaped Markup), or the `empty` sentence."""
    return _macro("table")(header, rows, empty)


def md_table(header: tuple[str, ...], rows: list, empty: str) -> list[str]:
    if not rows:
        return [empty]
    align = "|".join(["---"] + ["---:"] * (len(header) - 1))
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return [f"| {' | '.join(header)} |", f"|{align}|", *(f"| {' | '.join(esc(v) for v in r)} |" for r in rows)]


def clip(text: str | None, limit: int = MAX_EXAMPLE_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + " …"
