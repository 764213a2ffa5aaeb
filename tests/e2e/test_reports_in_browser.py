"""The first run's HTML reports as a reviewer opens them from MLflow: rendered in headless Chromium
without script or console errors, every plot loaded, nothing requested from outside the file.

With TUNEPIPE_SCREENSHOTS=DIR set, a full-page screenshot of each is written there (docs/screenshots
holds the README's).
"""

import os
from pathlib import Path

import pytest

from tests.browser import Browser, chromium
from tests.e2e.conftest import PLANTED, PII_SALT

pytestmark = pytest.mark.slow


def _newest(paths) -> Path:
    paths = sorted(paths, key=lambda p: p.stat().st_mtime)
    assert paths, "the first run logged no such report"
    return paths[-1]


def _reports(root: Path) -> dict[str, Path]:
    artifacts = root / ".tunepipe" / "mlartifacts"
    evaluation = _newest(artifacts.rglob("evaluation.json")).parent
    return {
        "data_card": _newest(artifacts.rglob("data_card/data_card.html")),
        "dataset_review": _newest(artifacts.rglob("report/review.html")),
        "evaluation": _newest(evaluation.glob("*.html")),
    }


@pytest.fixture(scope="module")
def browser():
    if chromium() is None:
        pytest.skip("no Chromium: `make test` installs Debian's chromium package as root; install it to run these")
    b = Browser()
    yield b
    b.close()


@pytest.mark.parametrize("report, heading", [("data_card", "Data card"), ("dataset_review", "Dataset review"),
                                             ("evaluation", "candidate vs base vs champion")])
def test_report_renders_in_chromium(first_run, project, browser, report, heading):
    assert first_run[1].returncode == 0, (first_run[1].stdout + first_run[1].stderr)[-4000:]
    page = browser.open(_reports(project[0])[report])
    assert heading in page.title
    assert page.errors == []
    assert page.external_requests == []
    assert page.images >= 1 and page.broken_images == []
    assert len(page.text) > 200
    for value in (*PLANTED.values(), PII_SALT):
        assert value not in page.text
    assert page.screenshot.startswith(b"\x89PNG")
    if os.environ.get("TUNEPIPE_SCREENSHOTS"):
        out = Path(os.environ["TUNEPIPE_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{report}.png").write_bytes(page.screenshot)


def test_a_page_that_reaches_out_or_breaks_is_caught(browser, tmp_path):
    """The checks above can fail: an external image, a script error and a broken image are each seen."""
    page_file = tmp_path / "bad.html"
    page_file.write_text('<html><head><title>bad</title></head><body><p>text</p>'
                         '<img src="https://cdn.example.com/plot.png"><img src="missing.png">'
                         '<script>undefined_function()</script></body></html>')
    page = browser.open(page_file)
    assert page.external_requests == ["https://cdn.example.com/plot.png"]
    assert len(page.broken_images) == 2
    assert any("undefined_function" in e or "Uncaught" in e for e in page.errors)
