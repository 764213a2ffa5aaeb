"""Serving smoke test: start the real server on loopback, ask one question with the `openai` client.

It proves that a model (a local directory or a registry URI) loads, serves the OpenAI API and
answers with some text (an empty answer fails), which is what a deployment needs to know before
traffic reaches it. Start-up is awaited with tenacity.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.1


@contextmanager
def running_server(app, host: str = "127.0.0.1", timeout_s: float = START_TIMEOUT_S) -> Iterator[str]:
    """Serve `app` in a background thread on a free port; yield its base URL (ending in /v1)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        base = f"http://{host}:{port}"
        _wait_healthy(base, thread, timeout_s)
        yield f"{base}/v1"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        sock.close()


def _wait_healthy(base: str, thread: threading.Thread, timeout_s: float) -> None:
    import httpx
    from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

    class _NotYet(Exception):
        pass

    @retry(stop=stop_after_delay(timeout_s), wait=wait_fixed(POLL_S), retry=retry_if_exception_type(_NotYet),
           reraise=True)
    def poll() -> None:
        if not thread.is_alive():
            raise TunepipeError(f"the model server at {base} exited during start-up; see the log above")
        try:
            healthy = httpx.get(f"{base}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if not healthy:
            raise _NotYet()

    try:
        poll()
    except _NotYet:
        raise TunepipeError(f"the model server at {base} did not answer /health within {timeout_s:.0f} s") from None


def smoke_test(cfg: Config, model_uri: str, question: str | None = None) -> dict:
    """Serve `model_uri`, ask one chat question greedily, stop the server; return the answer."""
    from openai import OpenAI, OpenAIError

    from tunepipe.serving.server import create_app, resolve_model_dir

    question = question or cfg.serving.smoke_question
    model_dir = resolve_model_dir(cfg, model_uri)
    app = create_app(model_dir, cfg.registry.model_name, cfg.serving.max_new_tokens)
    with running_server(app) as base_url:
        client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=300.0)
        start = time.perf_counter()
        try:
            reply = client.chat.completions.create(
                model=cfg.registry.model_name,
                messages=_messages(cfg, question),
                max_tokens=cfg.serving.max_new_tokens,
                temperature=0,
            )
        except OpenAIError as err:
            raise TunepipeError(f"the smoke question to {base_url} failed: {err}") from None
        latency = time.perf_counter() - start
    answer = reply.choices[0].message.content or ""
    if not answer.strip():
        raise TunepipeError(
            f"the model at {model_uri} answered the smoke question with nothing "
            f"(finish_reason={reply.choices[0].finish_reason}); check the chat template and that the weights are trained"
        )
    return {
        "question": question,
        "answer": answer,
        "model": reply.model,
        "model_dir": model_dir,
        "latency_s": round(latency, 3),
        "completion_tokens": reply.usage.completion_tokens,
        "finish_reason": reply.choices[0].finish_reason,
    }


def _messages(cfg: Config, question: str) -> list[dict]:
    system = [{"role": "system", "content": cfg.model.system_prompt}] if cfg.model.system_prompt else []
    return system + [{"role": "user", "content": question}]
