"""Headless Chromium over the DevTools protocol: open a local HTML report as a reviewer's browser does
and say what went wrong in it (script and console errors, images that did not load, any request that
left the file), with a full-page screenshot.

Chromium comes from Debian's `chromium` package (`make test` installs it when absent); no driver or
browser download. Name resolution is mapped to nothing, so a report that reaches for the network
fails to load that resource and the request is still recorded.

    python -m tests.browser REPORT.html OUT.png [MAX_HEIGHT]   # the README's screenshots (docs/screenshots)
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
START_TIMEOUT_S = 60
LOAD_TIMEOUT_S = 60
SETTLE_S = 0.5
PAGE_FACTS = """JSON.stringify({
  title: document.title,
  text: document.body ? document.body.innerText : "",
  images: Array.from(document.images).map(i => ({src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0})),
  width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight
})"""


def chromium() -> str | None:
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


@dataclass
class Page:
    title: str
    text: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    screenshot: bytes = b""

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file://", "data:", "about:"))]


class Browser:
    """One headless Chromium for a test module; `open(path)` checks one page in a fresh tab."""

    def __init__(self):
        binary = chromium()
        if binary is None:
            raise RuntimeError("no Chromium on PATH: install Debian's chromium package (make test does, as root)")
        self._profile = tempfile.TemporaryDirectory(prefix="tunepipe-chromium-")
        self._proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={self._profile.name}", "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._port = self._wait_for_port()
        self._ids = itertools.count(1)

    def _wait_for_port(self) -> int:
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if port_file.is_file() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            if self._proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self._proc.returncode} before it listened")
            time.sleep(0.1)
        raise RuntimeError(f"Chromium did not open its DevTools port within {START_TIMEOUT_S} s")

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._profile.cleanup()

    def _new_tab(self) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self._port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def open(self, path: str | Path, width: int = 1280) -> Page:
        import websocket

        tab = self._new_tab()
        ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=LOAD_TIMEOUT_S,
                                         suppress_origin=True)
        try:
            return _CdpPage(ws, self._ids).check(Path(path).resolve().as_uri(), width)
        finally:
            ws.close()
            urllib.request.urlopen(f"http://127.0.0.1:{self._port}/json/close/{tab['id']}", timeout=10).close()


class _CdpPage:
    def __init__(self, ws, ids):
        self._ws, self._ids = ws, ids
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the page did not fire {event} within {LOAD_TIMEOUT_S} s")
            self.events.append(json.loads(self._ws.recv()))

    def settle(self) -> None:
        self._ws.settimeout(SETTLE_S)
        try:
            while True:
                self.events.append(json.loads(self._ws.recv()))
        except Exception:  # noqa: BLE001 - websocket's timeout: nothing more arrived
            pass
        finally:
            self._ws.settimeout(LOAD_TIMEOUT_S)

    def check(self, url: str, width: int) -> Page:
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.settle()
        facts = json.loads(self.call("Runtime.evaluate", expression=PAGE_FACTS, returnByValue=True)["result"]["value"])
        page = Page(title=facts["title"], text=facts["text"], errors=_errors(self.events),
                    requests=[e["params"]["request"]["url"] for e in self.events
                              if e.get("method") == "Network.requestWillBeSent"],
                    images=len(facts["images"]), broken_images=[i["src"] for i in facts["images"] if not i["ok"]])
        height = min(int(facts["height"]), 16000)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        page.screenshot = base64.b64decode(shot["data"])
        return page


def _errors(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(f"{params['entry'].get('source')}: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            out.append(f"failed to load: {params.get('errorText')}")
    return out


def main() -> None:
    """`python -m tests.browser REPORT.html OUT.png [MAX_HEIGHT]`: the README's screenshots of a report."""
    import io
    import sys

    from PIL import Image

    report, out = sys.argv[1], Path(sys.argv[2])
    max_height = int(sys.argv[3]) if len(sys.argv) > 3 else 2400
    browser = Browser()
    try:
        page = browser.open(report)
    finally:
        browser.close()
    if page.errors or page.external_requests or page.broken_images:
        raise SystemExit(f"{report}: {page.errors} {page.external_requests} {page.broken_images}")
    image = Image.open(io.BytesIO(page.screenshot))
    image.crop((0, 0, image.width, min(image.height, max_height))).save(out, optimize=True)
    print(f"{out}: {page.title}")


if __name__ == "__main__":
    main()
