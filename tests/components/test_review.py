"""tunepipe.components.review through python_func: the report names the digest the gate must see."""

from __future__ import annotations


def test_review_writes_html_and_markdown_for_the_redacted_digest(chain):
    summary, outputs = chain["review"]
    assert outputs["digest"] == summary["digest"] == chain["pii"][0]["digest"]
    html, md = open(outputs["report"].path).read(), open(outputs["report_md"].path).read()
    for text in (html, md):
        assert summary["digest"] in text and f"tunepipe approve {summary['digest']}" in text
    assert summary["status"] == "pending" and set(summary["upstream"]) == {"ingest", "clean", "dedup", "pii"}
