"""The LoRA router over real HTTP on 127.0.0.1: a fake trtllm-serve behind it, the openai client in front."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from tunepipe.deploy.router import create_app

ROUTES = {"base": "support-bot", "adapters": {
    "billing": {"lora_name": "billing", "lora_int_id": 1, "lora_path": "/models/adapters/billing"},
    "returns": {"lora_name": "returns", "lora_int_id": 2, "lora_path": "/models/adapters/returns"}}}
UPSTREAM_MODEL = "/models/model"


class FakeTrtllm:
    """What trtllm-serve answers: its one model in /v1/models, /health, chat completions (and SSE)."""

    def __init__(self):
        self.bodies: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, data: bytes, ctype: str = "application/json", code: int = 200):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    model = {"id": UPSTREAM_MODEL, "object": "model", "created": 0, "owned_by": "trt"}
                    return self._send(json.dumps({"object": "list", "data": [model]}).encode())
                self._send(b"", "text/plain", 200 if self.path == "/health" else 404)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.bodies.append(body)
                adapter = (body.get("lora_request") or {}).get("lora_name", "base")
                if body.get("stream"):
                    chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                               "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
                              for w in ("from ", adapter)]
                    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
                    return self._send(data.encode(), "text/event-stream")
                self._send(json.dumps({
                    "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": f"from {adapter}"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    import uvicorn

    upstream = FakeTrtllm()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ROUTES, upstream.url), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
    yield client, upstream
    server.should_exit = True
    thread.join(timeout=10)
    upstream.server.shutdown()


def _ask(client, model: str, **kw):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=8, **kw)


def test_models_lists_the_base_and_every_adapter(served):
    client, _ = served
    assert [m.id for m in client.models.list()] == ["support-bot", "billing", "returns"]


def test_an_adapter_name_becomes_the_base_plus_its_lora_request(served):
    client, upstream = served
    reply = _ask(client, "returns")
    assert reply.choices[0].message.content == "from returns"
    sent = upstream.bodies[-1]
    assert sent["model"] == UPSTREAM_MODEL and sent["lora_request"] == ROUTES["adapters"]["returns"]
    assert sent["max_tokens"] == 8 and sent["messages"] == [{"role": "user", "content": "hi"}]


def test_the_base_name_goes_without_an_adapter(served):
    client, upstream = served
    assert _ask(client, "support-bot").choices[0].message.content == "from base"
    assert "lora_request" not in upstream.bodies[-1]


def test_streaming_passes_through(served):
    client, _ = served
    stream = _ask(client, "billing", stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "from billing"


def test_an_unknown_model_is_openais_404(served):
    client, upstream = served
    before = len(upstream.bodies)
    with pytest.raises(openai.NotFoundError) as err:
        _ask(client, "nope")
    assert err.value.body["code"] == "model_not_found" and len(upstream.bodies) == before


def test_health_passes_through(served):
    import httpx

    client, _ = served
    assert httpx.get(str(client.base_url).removesuffix("/v1/") + "/health").status_code == 200


def test_a_dead_engine_is_a_502_in_openais_error_shape():
    from fastapi.testclient import TestClient

    with TestClient(create_app(ROUTES, f"http://127.0.0.1:{_free_port()}", timeout_s=2)) as client:
        reply = client.post("/v1/chat/completions", json={"model": "billing", "messages": []})
        assert reply.status_code == 502 and reply.json()["error"]["code"] == "upstream_unavailable"
        assert client.get("/health").status_code == 502
