"""The CPU model server: an OpenAI-compatible HTTP API over one Hugging Face causal LM.

`create_app` loads the model once and exposes `/health`, `/v1/models`, `/v1/chat/completions` and
`/v1/completions` (with optional SSE streaming) in OpenAI's request, response and error shapes, so
the official `openai` client, RAGAS or any OpenAI-compatible tool works against it unchanged. It is
the no-GPU counterpart of `trtllm-serve`, which serves the same API on GPU nodes. One request
generates at a time: a CPU has no spare capacity for concurrent decoding.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from pathlib import Path
from typing import AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.serving.engine import Engine, Generation, RequestError, SamplingParams
from tunepipe.serving.schemas import ChatCompletionRequest, ChatMessage, CompletionRequest

log = logging.getLogger("tunepipe.serving")

DEFAULT_MAX_TOKENS = 256
REMOTE_PREFIXES = ("models:/", "runs:/")


class APIError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_body(message: str, status: int, param: str | None = None, code: str | None = None) -> dict:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error_response(status: int, message: str, param: str | None = None, code: str | None = None):
    return JSONResponse(error_body(message, status, param, code), status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, err: APIError):
        return _error_response(err.status, err.message, err.param, err.code)

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


class _Service:
    """The loaded model behind the routes, with the lock that serialises generation."""

    def __init__(self, engine: Engine, model_name: str, default_max_tokens: int):
        self.engine, self.model_name = engine, model_name
        self.default_max_tokens = default_max_tokens
        self.created = int(time.time())
        self.lock = asyncio.Lock()

    def model_card(self) -> dict:
        return {"id": self.model_name, "object": "model", "created": self.created, "owned_by": "tunepipe"}

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

    async def run(self, generation: Generation) -> str:
        async with self.lock:
            return await run_in_threadpool(generation.text)

    async def stream(self, generation: Generation, chunk: Callable[..., dict], usage: bool) -> AsyncIterator[str]:
        async with self.lock:
            pieces = iter(generation)
            while (piece := await run_in_threadpool(next, pieces, None)) is not None:
                if piece:
                    yield _sse(chunk(piece, None))
        yield _sse(chunk(None, generation.finish_reason))
        if usage:
            yield _sse(chunk(None, None, usage=_usage(generation)))
        yield "data: [DONE]\n\n"


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _usage(gen: Generation) -> dict:
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
        return {"status": "ok", "model": svc.model_name}

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
        prompt_ids = svc.engine.chat_prompt_ids(_message_dicts(req.messages))
        params = svc.sampling(req, prompt_ids, req.max_completion_tokens or req.max_tokens)
        generation = svc.engine.generate(prompt_ids, params)
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        stream, include_usage = _streaming(req)
        if stream:
            chunk = _chat_chunk_factory(rid, created, svc.model_name)
            return StreamingResponse(svc.stream(generation, chunk, include_usage), media_type="text/event-stream")
        text = await svc.run(generation)
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": generation.finish_reason}
        return {
            "id": rid, "object": "chat.completion", "created": created, "model": svc.model_name,
            "choices": [choice], "usage": _usage(generation),
        }

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest):
        svc.check_model(req.model)
        prompt = _single_prompt(req.prompt)
        prompt_ids = svc.engine.text_prompt_ids(prompt)
        params = svc.sampling(req, prompt_ids, req.max_tokens)
        generation = svc.engine.generate(prompt_ids, params)
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        stream, include_usage = _streaming(req)
        chunk = _completion_chunk_factory(rid, created, svc.model_name)
        if stream:
            return StreamingResponse(svc.stream(generation, chunk, include_usage), media_type="text/event-stream")
        text = (prompt if req.echo else "") + await svc.run(generation)
        return chunk(text, generation.finish_reason) | {"usage": _usage(generation)}


def _single_prompt(prompt: str | list[str]) -> str:
    if isinstance(prompt, str):
        return prompt
    if len(prompt) != 1:
        raise APIError(400, "only one prompt per request is supported", "prompt")
    return prompt[0]


def create_app(model_dir: str, model_name: str, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> FastAPI:
    """Load the model in `model_dir` once and return the FastAPI app that serves it as `model_name`."""
    engine = Engine(model_dir)
    app = FastAPI(title="tunepipe model server", version="1")
    svc = _Service(engine, model_name, default_max_tokens)
    app.state.service = svc
    _install_error_handlers(app)
    _add_routes(app, svc)
    return app


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


def serve(cfg: Config, model_uri: str, host: str | None = None, port: int | None = None) -> None:
    """Resolve `model_uri`, load it and serve it with uvicorn until interrupted."""
    import uvicorn

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    host, port = host or cfg.serving.host, cfg.serving.port if port is None else port
    model_dir = resolve_model_dir(cfg, model_uri)
    app = create_app(model_dir, cfg.registry.model_name, cfg.serving.max_new_tokens)
    log.info("serving %s (%s) at http://%s:%d/v1", cfg.registry.model_name, model_dir, host, port)
    uvicorn.run(app, host=host, port=port, log_level="info")
