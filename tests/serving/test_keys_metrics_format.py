"""API keys, Prometheus /metrics and response_format (JSON by constrained decoding), over real HTTP."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.serving.server import ServeSettings, create_app, settings_from
from tunepipe.serving.smoke import running_server

MODEL = "tiny-test-model"
KEYS = frozenset({"key-one", "key-two"})
VERDICT = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "schema": {
            "type": "object",
            "properties": {"verdict": {"type": "integer", "enum": [0, 1]}, "reason": {"type": "string", "maxLength": 24}},
            "required": ["verdict", "reason"],
        },
    },
}


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    app = create_app(tiny_model_dir, MODEL, settings=ServeSettings(api_keys=KEYS))
    with running_server(app) as url:
        yield url


def test_without_a_valid_key_the_answer_is_401_in_openai_shape(server):
    body = {"model": MODEL, "prompt": "Hi", "max_tokens": 2}
    missing = httpx.post(f"{server}/completions", json=body)
    wrong = httpx.post(f"{server}/completions", json=body, headers={"Authorization": "Bearer nope"})
    for reply in (missing, wrong):
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "invalid_api_key"
        assert set(reply.json()["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server, api_key="nope", max_retries=0).models.list()


def test_the_openai_client_with_a_key_works(server):
    client = openai.OpenAI(base_url=server, api_key="key-two", max_retries=0, timeout=60)
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], max_tokens=4, temperature=0
    )
    assert reply.usage.completion_tokens > 0
    assert httpx.get(server.removesuffix("/v1") + "/health").status_code == 200


def test_metrics_count_requests_tokens_and_latency(server):
    client = openai.OpenAI(base_url=server, api_key="key-one", max_retries=0, timeout=60)
    client.completions.create(model=MODEL, prompt="Invoices are", max_tokens=5, temperature=0)
    text = httpx.get(server.removesuffix("/v1") + "/metrics").text
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and line[0] != "#"}
    assert samples['tunepipe_requests_total{path="/v1/completions",status="200"}'] >= 1
    assert samples["tunepipe_completion_tokens_total"] >= 5
    assert samples["tunepipe_request_latency_seconds_count"] >= 1
    assert "tunepipe_queue_depth" in samples and "tunepipe_running_requests" in samples
    assert any(k.startswith("tunepipe_request_latency_seconds_bucket") for k in samples)


def test_settings_read_keys_from_the_named_env_var(monkeypatch, tmp_path):
    cfg = Config.model_validate({
        "project": {"data_dir": str(tmp_path)}, "data": {"paths": ["x.jsonl"]},
        "serving": {"api_keys_env": "TUNEPIPE_TEST_KEYS", "max_batch_size": 3},
    })
    monkeypatch.setenv("TUNEPIPE_TEST_KEYS", " a1, b2 ,")
    assert settings_from(cfg).api_keys == {"a1", "b2"} and settings_from(cfg).max_batch_size == 3
    monkeypatch.delenv("TUNEPIPE_TEST_KEYS")
    with pytest.raises(TunepipeError, match="TUNEPIPE_TEST_KEYS"):
        settings_from(cfg)


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server, api_key="key-one", max_retries=0, timeout=120)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_json_schema_replies_parse_and_follow_the_schema(client, seed):
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Is the answer faithful?"}],
        max_tokens=120, temperature=1.0, seed=seed, response_format=VERDICT,
    )
    assert reply.choices[0].finish_reason == "stop"
    value = json.loads(reply.choices[0].message.content)
    assert value["verdict"] in (0, 1) and isinstance(value["reason"], str)
    assert len(value["reason"]) <= 24 + 1, "lm-format-enforcer may overshoot maxLength by one character"


def test_json_object_replies_that_stop_parse_as_objects(client):
    stopped = 0
    for seed in range(6):
        reply = client.completions.create(
            model=MODEL, prompt="Answer in JSON:", max_tokens=80, temperature=1.0, seed=seed,
            extra_body={"response_format": {"type": "json_object"}},
        )
        if reply.choices[0].finish_reason == "stop":
            stopped += 1
            assert isinstance(json.loads(reply.choices[0].text), dict)
    assert stopped >= 1


def test_json_streams_the_same_text(client):
    kwargs = {"model": MODEL, "messages": [{"role": "user", "content": "Verdict?"}], "max_tokens": 120,
              "temperature": 1.0, "seed": 2, "response_format": VERDICT}
    plain = client.chat.completions.create(**kwargs).choices[0].message.content
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **kwargs)
                       if c.choices)
    assert streamed == plain and json.loads(streamed)


def test_an_unknown_response_format_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=2,
                                       response_format={"type": "xml"})
    assert caught.value.body["param"] == "response_format"
