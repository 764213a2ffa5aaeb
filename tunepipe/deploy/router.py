"""The LoRA router: several adapters on one trtllm-serve, picked by the request's `model`, as NIM does.

trtllm-serve applies an adapter when a request carries `lora_request` {lora_name, lora_int_id,
lora_path}, but lists only its base model in /v1/models and ignores `model`. This sidecar, in front of
it on the pod's public port, lists the base and every adapter in /v1/models and rewrites
`{"model": "<adapter>"}` into the base model plus that adapter's lora_request; everything else
(streaming, /health, /metrics) passes through. An unknown `model` gets OpenAI's 404 error shape.

    python -m tunepipe.deploy.router --routes routes.json --upstream http://127.0.0.1:8001 --port 8000

Built on FastAPI + httpx, which the CPU server already uses (no __future__ annotations: FastAPI reads
the handlers' annotations at run time).
"""

import argparse
import json
from contextlib import asynccontextmanager
from pathlib import Path

def _error(status: int, message: str, code: str, status_type: str = "invalid_request_error"):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": status_type, "param": "model", "code": code}},
                        status_code=status)


def rewrite(body: dict, routes: dict, upstream_model: str) -> dict | None:
    """The body trtllm-serve should get, or None when `model` names neither the base nor an adapter."""
    model = body.get("model")
    if model in routes["adapters"]:
        return {**body, "model": upstream_model, "lora_request": routes["adapters"][model]}
    if model in (None, routes["base"], upstream_model):
        return {**body, "model": upstream_model}
    return None


def model_list(routes: dict, created: int = 0) -> dict:
    entries = [{"id": routes["base"], "object": "model", "created": created, "owned_by": "tunepipe"}]
    entries += [{"id": name, "object": "model", "created": created, "owned_by": "tunepipe", "parent": routes["base"],
                 "root": routes["base"]} for name in routes["adapters"]]
    return {"object": "list", "data": entries}


def create_app(routes: dict, upstream: str, timeout_s: float = 600.0):
    import httpx
    from fastapi import FastAPI, Request
    from fastapi.responses import Response, StreamingResponse

    client = httpx.AsyncClient(base_url=upstream, timeout=timeout_s)

    @asynccontextmanager
    async def lifespan(_app):
        yield
        await client.aclose()

    app = FastAPI(title="tunepipe LoRA router", lifespan=lifespan)
    state: dict = {}

    async def upstream_model() -> str:
        if "model" not in state:
            listed = (await client.get("/v1/models")).json()
            state["model"] = listed["data"][0]["id"]
        return state["model"]

    @app.get("/v1/models")
    async def models():
        return model_list(routes)

    @app.exception_handler(httpx.HTTPError)
    async def upstream_down(_request: Request, err: httpx.HTTPError):
        return _error(502, f"trtllm-serve at {upstream} is not answering ({type(err).__name__}): see its container log",
                      "upstream_unavailable", status_type="server_error")

    @app.post("/v1/completions")
    @app.post("/v1/chat/completions")
    async def generate(request: Request):
        body = await request.json()
        forwarded = rewrite(body, routes, await upstream_model())
        if forwarded is None:
            known = ", ".join([routes["base"], *routes["adapters"]])
            return _error(404, f"The model `{body.get('model')}` does not exist: use one of {known}",
                          "model_not_found")
        if not body.get("stream"):
            reply = await client.post(request.url.path, json=forwarded)
            return Response(reply.content, reply.status_code, media_type=reply.headers.get("content-type"))
        upstream_request = client.build_request("POST", request.url.path, json=forwarded)
        reply = await client.send(upstream_request, stream=True)

        async def chunks():
            try:
                async for chunk in reply.aiter_raw():
                    yield chunk
            finally:
                await reply.aclose()

        return StreamingResponse(chunks(), reply.status_code, media_type=reply.headers.get("content-type"))

    @app.get("/{path:path}")
    async def passthrough(path: str):
        reply = await client.get(f"/{path}")
        return Response(reply.content, reply.status_code, media_type=reply.headers.get("content-type"))

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="LoRA router in front of trtllm-serve")
    parser.add_argument("--routes", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    routes = json.loads(Path(args.routes).read_text())
    uvicorn.run(create_app(routes, args.upstream), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
