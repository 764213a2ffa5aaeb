"""The CPU model server: an OpenAI-compatible HTTP API over one Hugging Face causal LM.

`create_app` loads the model once and exposes `/health`, `/v1/models`, `/v1/chat/completions` and
`/v1/completions` (with optional SSE streaming) in OpenAI's request, response and error shapes, so
the official `openai` client, RAGAS or any OpenAI-compatible tool works against it unchanged. It is
the no-GPU counterpart of `trtllm-serve`, which serves the same API on GPU nodes. Concurrent
requests are decoded together by `tunepipe.serving.scheduler` (continuous batching); over capacity
the server answers 429 with Retry-After. `response_format` is honoured by constrained decoding,
`/metrics` speaks Prometheus, and `serving.api_keys_env` turns on Bearer keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.serving.constrained import constraint_for
from tunepipe.serving.engine import Engine, RequestError, SamplingParams
from tunepipe.serving.metrics import ServerMetrics
from tunepipe.serving.scheduler import QueueFull, Scheduler, SchedulerClosed, Sequence
from tunepipe.serving.schemas import ChatCompletionRequest, ChatMessage, CompletionRequest

log = logging.getLogger("tunepipe.serving")

DEFAULT_MAX_TOKENS = 256
REMOTE_PREFIXES = ("models:/", "runs:/")
RETRY_AFTER_S = 1
OPEN_PATHS = ("/health", "/metrics")


class APIError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers


def error_body(message: str, status: int, param: str | None = None, code: str | None = None) -> dict:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                    headers: dict | None = None):
    return JSONResponse(error_body(message, status, param, code), status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, err: APIError):
        return _error_response(err.status, err.message, err.param, err.code, err.headers)

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, err: RequestError):
        return _error_response(400, str(err), err.param)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, err: RequestValidationError):
        problems = err.errors()
        where = [".".join(str(p) for p in e["loc"] if p != "body") for e in problems]
        message = "; ".join(f"{w or 'body'}: {e['msg']}" for w, e in zip(where, problems))
        return _error_response(422, message, where[0] if where else None)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception):
        log.exception("request failed")
        return _error_response(500, f"internal error: {type(err).__name__}: {err}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, err: StarletteHTTPException):
        return _error_response(err.status_code, str(err.detail))


@dataclass
class Backend:
    """One loaded model version and the scheduler that decodes for it."""

    engine: Engine
    scheduler: Scheduler
    version: str | None = None

    def close(self) -> None:
        self.scheduler.close(wait=True)


@dataclass
class ServeSettings:
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    max_batch_size: int = 8
    max_queue: int = 16
    request_timeout_s: float = 300.0
    api_keys: frozenset[str] = frozenset()


class _Service:
    """The served model behind the routes; `swap` replaces it without failing a request."""

    def __init__(self, model_name: str, settings: ServeSettings, metrics: ServerMetrics):
        self.model_name, self.settings, self.metrics = model_name, settings, metrics
        self.default_max_tokens = settings.default_max_tokens
        self.created = int(time.time())
        self.backend: Backend | None = None

    def load(self, model_dir: str, version: str | None = None) -> Backend:
        engine = Engine(model_dir)
        scheduler = Scheduler(engine, self.settings.max_batch_size, self.settings.max_queue, self.metrics.on_step)
        return Backend(engine, scheduler, version)

    def swap(self, backend: Backend) -> None:
        """Serve `backend` from now on; the old one finishes what it has, then stops."""
        old, self.backend = self.backend, backend
        if old is not None:
            threading.Thread(target=old.close, name="tunepipe-drain", daemon=True).start()
        log.info("now serving %s version %s", self.model_name, backend.version)

    @property
    def engine(self) -> Engine:
        return self.backend.engine

    def model_card(self) -> dict:
        card = {"id": self.model_name, "object": "model", "created": self.created, "owned_by": "tunepipe"}
        return card | ({"version": self.backend.version} if self.backend.version else {})

    def check_model(self, name: str) -> None:
        if name != self.model_name:
            raise APIError(
                404, f"The model '{name}' does not exist; this server serves '{self.model_name}'",
                "model", "model_not_found",
            )

    def sampling(self, req, prompt_ids: list[int], requested_max: int | None) -> SamplingParams:
        if (req.n or 1) != 1:
            raise APIError(400, "only n=1 is supported by this server", "n")
        if getattr(req, "logprobs", None):
            raise APIError(400, "logprobs are not supported by this server", "logprobs")
        return SamplingParams(
            max_tokens=self._max_tokens(prompt_ids, requested_max),
            temperature=1.0 if req.temperature is None else req.temperature,
            top_p=1.0 if req.top_p is None else req.top_p,
            stop=req.stop or [],
            seed=req.seed,
        )

    def _max_tokens(self, prompt_ids: list[int], requested: int | None) -> int:
        room, context = self.engine.room_for(prompt_ids), self.engine.context_length
        if room <= 0:
            raise APIError(400, f"the prompt has {len(prompt_ids)} tokens; the model's context is {context}")
        if requested is None:
            return min(self.default_max_tokens, room)
        if requested > room:
            raise APIError(
                400,
                f"max_tokens={requested} plus the prompt's {len(prompt_ids)} tokens exceed the model's "
                f"context of {context} tokens; lower max_tokens or shorten the prompt",
                "max_tokens",
            )
        return requested

    async def submit(self, prepare: Callable[[Engine], tuple], response_format: dict | None) -> Sequence:
        """Queue a request on the current model; `prepare(engine)` gives its prompt ids and params."""
        while True:
            backend = self.backend
            prompt_ids, params = prepare(backend.engine)
            constraint = None
            if response_format:
                constraint = await run_in_threadpool(constraint_for, backend.engine.tokenizer, response_format)
            try:
                return backend.scheduler.submit(prompt_ids, params, constraint)
            except SchedulerClosed:
                continue
            except QueueFull:
                self.metrics.rejected.inc()
                raise APIError(
                    429, f"the server is at capacity ({self.settings.max_queue} requests waiting); retry shortly",
                    code="rate_limit_exceeded", headers={"Retry-After": str(RETRY_AFTER_S)},
                ) from None

    async def pieces(self, seq: Sequence) -> AsyncIterator[str]:
        """The request's text pieces as they are decoded; cancels it on timeout or disconnect."""
        deadline = seq.submitted + self.settings.request_timeout_s
        try:
            while (piece := await self._next(seq, deadline)) is not None:
                yield piece
        finally:
            if not seq.state.done:
                seq.cancel()
        if seq.finish_reason == "error":
            raise APIError(500, "the model failed while decoding this request; see the server log")
        self.metrics.finished(seq)

    async def _next(self, seq: Sequence, deadline: float) -> str | None:
        try:
            return await asyncio.wait_for(seq.queue.get(), timeout=max(deadline - time.monotonic(), 0.0))
        except (TimeoutError, asyncio.TimeoutError):
            raise APIError(
                504, f"the request took longer than {self.settings.request_timeout_s:.0f} s; "
                "lower max_tokens or retry when the server is less busy", code="timeout",
            ) from None

    async def run(self, seq: Sequence) -> str:
        return "".join([piece async for piece in self.pieces(seq)])

    async def stream(self, seq: Sequence, chunk: Callable[..., dict], usage: bool) -> AsyncIterator[str]:
        try:
            async for piece in self.pieces(seq):
                if piece:
                    yield _sse(chunk(piece, None))
        except APIError as err:
            yield _sse(error_body(err.message, err.status, err.param, err.code))
            return
        yield _sse(chunk(None, seq.finish_reason))
        if usage:
            yield _sse(chunk(None, None, usage=_usage(seq)))
        yield "data: [DONE]\n\n"


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _usage(gen: Sequence) -> dict:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": gen.prompt_tokens + gen.completion_tokens,
    }


def _message_dicts(messages: list[ChatMessage]) -> list[dict]:
    out = []
    for m in messages:
        if isinstance(m.content, list):
            if any(p.type != "text" for p in m.content):
                raise APIError(400, "only text content parts are supported", "messages")
            content = "".join(p.text or "" for p in m.content)
        else:
            content = m.content or ""
        out.append({"role": "system" if m.role == "developer" else m.role, "content": content})
    return out


def _streaming(req) -> tuple[bool, bool]:
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    return bool(req.stream), include_usage


def _chat_chunk_factory(rid: str, created: int, model: str) -> Callable[..., dict]:
    sent_role = False

    def chunk(text: str | None, finish: str | None, usage: dict | None = None) -> dict:
        nonlocal sent_role
        body = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
        if usage is not None:
            return body | {"choices": [], "usage": usage}
        delta = {} if text is None else {"content": text}
        if not sent_role:
            delta, sent_role = {"role": "assistant", "content": text or ""}, True
        return body | {"choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    return chunk


def _completion_chunk_factory(rid: str, created: int, model: str) -> Callable[..., dict]:
    def chunk(text: str | None, finish: str | None, usage: dict | None = None) -> dict:
        body = {"id": rid, "object": "text_completion", "created": created, "model": model}
        if usage is not None:
            return body | {"choices": [], "usage": usage}
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        return body | {"choices": [choice]}

    return chunk


def _add_routes(app: FastAPI, svc: _Service) -> None:
    @app.get("/health")
    async def health() -> dict:
        body = {"status": "ok", "model": svc.model_name}
        return body | ({"version": svc.backend.version} if svc.backend.version else {})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(svc.metrics.render(), media_type=svc.metrics.content_type)

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {"object": "list", "data": [svc.model_card()]}

    @app.get("/v1/models/{model:path}")
    async def get_model(model: str) -> dict:
        svc.check_model(model)
        return svc.model_card()

    @app.post("/v1/chat/completions")
    async def chat_completions(req: ChatCompletionRequest):
        svc.check_model(req.model)
        messages = _message_dicts(req.messages)

        def prepare(engine: Engine):
            prompt_ids = engine.chat_prompt_ids(messages)
            return prompt_ids, svc.sampling(req, prompt_ids, req.max_completion_tokens or req.max_tokens)

        seq = await svc.submit(prepare, _response_format(req))
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        stream, include_usage = _streaming(req)
        if stream:
            chunk = _chat_chunk_factory(rid, created, svc.model_name)
            return StreamingResponse(svc.stream(seq, chunk, include_usage), media_type="text/event-stream")
        text = await svc.run(seq)
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": seq.finish_reason}
        return {
            "id": rid, "object": "chat.completion", "created": created, "model": svc.model_name,
            "choices": [choice], "usage": _usage(seq),
        }

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest):
        svc.check_model(req.model)
        prompt = _single_prompt(req.prompt)

        def prepare(engine: Engine):
            prompt_ids = engine.text_prompt_ids(prompt)
            return prompt_ids, svc.sampling(req, prompt_ids, req.max_tokens)

        seq = await svc.submit(prepare, _response_format(req))
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        stream, include_usage = _streaming(req)
        chunk = _completion_chunk_factory(rid, created, svc.model_name)
        if stream:
            return StreamingResponse(svc.stream(seq, chunk, include_usage), media_type="text/event-stream")
        text = (prompt if req.echo else "") + await svc.run(seq)
        return chunk(text, seq.finish_reason) | {"usage": _usage(seq)}


def _response_format(req) -> dict | None:
    fmt = req.response_format
    return fmt if fmt and fmt.get("type", "text") != "text" else None


def _install_api_keys(app: FastAPI, svc: _Service) -> None:
    """Without a configured key list every request is served; with one, /v1 needs a Bearer key."""

    @app.middleware("http")
    async def _check_key(request: Request, call_next):
        keys = svc.settings.api_keys
        if keys and not request.url.path.startswith(OPEN_PATHS):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() not in keys:
                return _error_response(
                    401, "Incorrect or missing API key: send 'Authorization: Bearer <key>' with a key the "
                    "server was configured with", code="invalid_api_key",
                )
        response = await call_next(request)
        svc.metrics.requests.labels(request.url.path, str(response.status_code)).inc()
        return response


def _single_prompt(prompt: str | list[str]) -> str:
    if isinstance(prompt, str):
        return prompt
    if len(prompt) != 1:
        raise APIError(400, "only one prompt per request is supported", "prompt")
    return prompt[0]


def create_app(model_dir: str, model_name: str, default_max_tokens: int = DEFAULT_MAX_TOKENS,
               settings: ServeSettings | None = None, version: str | None = None) -> FastAPI:
    """Load the model in `model_dir` once and return the FastAPI app that serves it as `model_name`."""
    settings = settings or ServeSettings(default_max_tokens=default_max_tokens)
    svc = _Service(model_name, settings, ServerMetrics())
    svc.swap(svc.load(model_dir, version))
    app = FastAPI(title="tunepipe model server", version="1")
    app.state.service = svc
    _install_error_handlers(app)
    _install_api_keys(app, svc)
    _add_routes(app, svc)
    return app


def settings_from(cfg: Config) -> ServeSettings:
    """The server's limits and API keys from `cfg.serving` (keys read from the named env var)."""
    s = cfg.serving
    keys = os.environ.get(s.api_keys_env, "") if s.api_keys_env else ""
    if s.api_keys_env and not keys.strip():
        raise TunepipeError(
            f"serving.api_keys_env names {s.api_keys_env}, which is unset or empty; export it with "
            "comma-separated keys or remove serving.api_keys_env"
        )
    return ServeSettings(
        default_max_tokens=s.max_new_tokens, max_batch_size=s.max_batch_size, max_queue=s.max_queue,
        request_timeout_s=s.request_timeout_s, api_keys=frozenset(k.strip() for k in keys.split(",") if k.strip()),
    )


def resolve_model_dir(cfg: Config, model_uri: str) -> str:
    """A local model directory for `model_uri`: a directory, `models:/NAME@alias` or `runs:/...`."""
    if model_uri.startswith(REMOTE_PREFIXES):
        from tunepipe import tracking
        from tunepipe.registry.register import download_model_dir

        tracking.setup_mlflow(cfg)
        return download_model_dir(cfg, model_uri)
    path = Path(model_uri).expanduser()
    if not (path / "config.json").is_file():
        raise TunepipeError(
            f"model directory {path} not found or not a Hugging Face model (no config.json); pass the "
            f"training output's merged/ directory or a registry URI such as "
            f"models:/{cfg.registry.model_name}@{cfg.registry.alias}"
        )
    return str(path.resolve())


def build_app(cfg: Config, model_uri: str):
    """The app for `model_uri`, and for `models:/NAME@ALIAS` the started AliasFollower (else None)."""
    from tunepipe.serving.follow import AliasFollower, parse_alias_uri

    settings = settings_from(cfg)
    alias_ref = parse_alias_uri(model_uri)
    if alias_ref is None:
        return create_app(resolve_model_dir(cfg, model_uri), cfg.registry.model_name, settings=settings), None
    from tunepipe.registry.register import download_model_dir

    name, alias = alias_ref
    probe = AliasFollower(cfg, None, name, alias)
    version = probe.version()
    model_dir = download_model_dir(cfg, f"models:/{name}/{version}")
    app = create_app(model_dir, cfg.registry.model_name, settings=settings, version=version)
    probe.service = app.state.service
    return app, probe.start()


def serve(cfg: Config, model_uri: str, host: str | None = None, port: int | None = None) -> None:
    """Resolve `model_uri`, load it and serve it with uvicorn until interrupted (following an alias)."""
    import uvicorn

    from tunepipe.ports import check_port_free

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    host, port = host or cfg.serving.host, cfg.serving.port if port is None else port
    check_port_free(host, port, "--port (or serving.port)")
    app, follower = build_app(cfg, model_uri)
    log.info("serving %s (%s) at http://%s:%d/v1", cfg.registry.model_name, model_uri, host, port)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if follower is not None:
            follower.stop()
