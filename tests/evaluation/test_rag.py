"""ragas metrics for real on a few RAG rows; the LLM-judged path against tunepipe's own server on the
tiny model over real HTTP, and against judges that are unreachable, slow, or answer invalid JSON."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from tunepipe.config import Config
from tunepipe.evaluation.rag import JUDGED_METRICS, score_rag
from tunepipe.serving.smoke import running_server

ROWS = [
    {"shape": "rag", "prompt": "How long is the warranty?", "response": "The warranty lasts two years.",
     "context": "The warranty covers parts and labour for two years.\n\nReturns are accepted within thirty days.",
     "reference_contexts": ["The warranty covers parts and labour for two years."]},
    {"shape": "chat", "prompt": "Hi", "response": "Hello"},
    {"shape": "rag", "prompt": "When is the office open?", "response": "abcd",
     "context": "The office is open from nine to five on weekdays."},
]
ANSWERS = ["The warranty lasts two years.", "Hello", "abXY"]


def _cfg(judge: dict | None = None) -> Config:
    evaluation = {"judge": judge} if judge else {}
    return Config.model_validate({"data": {"paths": ["x.jsonl"]}, "evaluation": evaluation})


def test_non_llm_metrics_are_ragas_values_on_rag_rows_only():
    scores = score_rag(_cfg(), ROWS, ANSWERS)
    similarity = scores["ragas.non_llm_string_similarity"]
    assert similarity["values"] == [pytest.approx(1.0), None, pytest.approx(0.5)]  # Levenshtein 2 of 4 characters
    assert similarity["n"] == 2 and similarity["reason"] is None
    assert scores["ragas.rouge_score"]["values"] == [pytest.approx(1.0), None, 0.0]
    assert scores["ragas.bleu_score"]["values"][0] == pytest.approx(1.0)
    precision = scores["ragas.non_llm_context_precision_with_reference"]
    assert precision["values"][0] == pytest.approx(1.0) and precision["values"][1:] == [None, None]
    assert precision["n"] == 1 and "reference_contexts" in precision["reason"]
    assert scores["ragas.non_llm_context_recall"]["values"][0] == pytest.approx(1.0)
    assert not any(name.removeprefix("ragas.") in JUDGED_METRICS for name in scores)


class _Recorder:
    """ASGI wrapper that keeps each chat request's body and its JSON reply."""

    def __init__(self, app):
        self.app, self.exchanges = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            return await self.app(scope, receive, send)
        request, reply = bytearray(), bytearray()

        async def recv():
            message = await receive()
            request.extend(message.get("body", b""))
            return message

        async def snd(message):
            if message["type"] == "http.response.body":
                reply.extend(message.get("body", b""))
                if not message.get("more_body"):
                    self.exchanges.append((json.loads(request), json.loads(reply)))
            await send(message)

        await self.app(scope, recv, snd)


@pytest.fixture(scope="module")
def judge_server(tmp_path_factory):
    from tunepipe.serving.server import create_app
    from tunepipe.training.tiny import build_tiny_model

    model_dir = Path(build_tiny_model(tmp_path_factory.mktemp("judge")))
    config = json.loads((model_dir / "config.json").read_text())
    config["max_position_embeddings"] = 4096  # ragas's prompts are longer than the tiny tokenizer's 1024 (RoPE)
    (model_dir / "config.json").write_text(json.dumps(config))
    recorder = _Recorder(create_app(str(model_dir), "tiny-judge"))
    with running_server(recorder) as url:
        yield url, recorder


@pytest.mark.parametrize("mode", ["json_object", "json_schema"])
def test_judged_metrics_against_tunepipe_server_honour_response_format(judge_server, mode):
    url, recorder = judge_server
    recorder.exchanges.clear()
    judge = {"base_url": url, "model": "tiny-judge", "max_rows": 1, "max_tokens": 24, "response_format": mode}
    scores = score_rag(_cfg(judge), ROWS, ANSWERS)
    assert recorder.exchanges, "ragas sent no request to the judge"
    for request, reply in recorder.exchanges:
        assert request["response_format"]["type"] == mode
        if mode == "json_schema":
            assert request["response_format"]["json_schema"]["schema"]["type"] == "object"
        choice = reply["choices"][0]
        if choice["finish_reason"] == "stop":
            assert isinstance(json.loads(choice["message"]["content"]), dict)
        else:  # the random tiny model never closes its JSON: cut by max_tokens, still a JSON object's prefix
            assert choice["finish_reason"] == "length" and choice["message"]["content"].lstrip().startswith("{")
    for name in JUDGED_METRICS:
        result = scores[f"ragas.{name}"]
        value = result["values"][0]
        assert (value is not None and 0.0 <= value <= 1.0) or (value is None and result["reason"])
        assert result["values"][1:] == [None, None]
    assert "embeddings_model" in scores["ragas.answer_relevancy"]["reason"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fake_judge(delay_s: float = 0.0, content: str = "{}"):
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        await asyncio.sleep(delay_s)
        return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    return app


def _judged(scores: dict) -> list[tuple]:
    return [(scores[f"ragas.{m}"]["values"], scores[f"ragas.{m}"]["reason"]) for m in JUDGED_METRICS]


def test_unreachable_judge_gives_none_and_the_reason():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    for values, reason in _judged(score_rag(_cfg({"base_url": url, "model": "m"}), ROWS, ANSWERS)):
        assert values == [None, None, None] and reason.startswith(f"judge unreachable: {url}")


def test_slow_judge_times_out_to_none_and_the_reason():
    with running_server(_fake_judge(delay_s=1.0)) as url:
        scores = score_rag(_cfg({"base_url": url, "model": "m", "timeout_s": 0.3}), ROWS, ANSWERS)
    for values, reason in _judged(scores):
        assert values == [None, None, None] and reason.startswith("judge timed out after 0.3s")


@pytest.mark.parametrize("content, expected", [
    ("certainly! the verdict is {yes", "judge returned invalid JSON: 'certainly!"),
    ('{"description": "the schema, not an answer"}', "judge's JSON does not fit ragas's"),
])
def test_invalid_json_from_the_judge_gives_none_and_the_reason(content, expected):
    with running_server(_fake_judge(content=content)) as url:
        scores = score_rag(_cfg({"base_url": url, "model": "m"}), ROWS, ANSWERS)
    for name, (values, reason) in zip(JUDGED_METRICS, _judged(scores)):
        assert values == [None, None, None]
        assert reason.startswith(expected) or (name == "answer_relevancy" and "embeddings" in reason)
