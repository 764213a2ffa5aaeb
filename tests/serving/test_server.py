"""The OpenAI-compatible server, over real HTTP on loopback, driven by the official openai client."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

MODEL_NAME = "tiny-test-model"
QUESTION = [{"role": "user", "content": "How do I reset my password?"}]


@pytest.fixture(scope="module")
def app(tiny_model_dir):
    from tunepipe.serving.server import create_app

    return create_app(tiny_model_dir, MODEL_NAME)


@pytest.fixture(scope="module")
def base_url(app):
    from tunepipe.serving.smoke import running_server

    with running_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url):
    return openai.OpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=60.0)


def chat(client, **kwargs):
    args = {"model": MODEL_NAME, "messages": QUESTION, "max_tokens": 12} | kwargs
    return client.chat.completions.create(**args)


def test_health(base_url):
    reply = httpx.get(base_url.removesuffix("/v1") + "/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "model": MODEL_NAME}
    assert httpx.get(base_url.removesuffix("/v1") + "/metrics").status_code == 200


def test_models_list_and_retrieve(client):
    assert [m.id for m in client.models.list().data] == [MODEL_NAME]
    assert client.models.retrieve(MODEL_NAME).owned_by == "tunepipe"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_chat_completion_returns_text_and_usage(client, tokenizer):
    reply = chat(client, max_tokens=7, temperature=0)
    choice = reply.choices[0]
    prompt = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert reply.object == "chat.completion" and reply.model == MODEL_NAME
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"
    assert reply.usage.prompt_tokens == prompt_tokens
    assert reply.usage.completion_tokens == 7
    assert reply.usage.total_tokens == prompt_tokens + 7


def test_completions_continue_a_raw_prompt(client, tokenizer):
    prompt = "The quick brown fox"
    reply = client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=5, temperature=0)
    assert reply.object == "text_completion"
    assert isinstance(reply.choices[0].text, str) and reply.choices[0].text
    assert reply.usage.prompt_tokens == len(tokenizer(prompt)["input_ids"])
    assert reply.usage.completion_tokens == 5
    echoed = client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=5, temperature=0, echo=True)
    assert echoed.choices[0].text == prompt + reply.choices[0].text


def test_greedy_is_deterministic(client):
    first, second = (chat(client, temperature=0).choices[0].message.content for _ in range(2))
    assert first == second


def test_seed_makes_sampling_reproducible(client):
    texts = [chat(client, temperature=1.0, seed=seed, max_tokens=16).choices[0].message.content for seed in (1, 1, 2)]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_top_p_near_zero_is_greedy(client):
    greedy = chat(client, temperature=0).choices[0].message.content
    assert chat(client, temperature=1.5, top_p=1e-6, seed=3).choices[0].message.content == greedy


def _sampled_completion(client, seed: int) -> str:
    return client.completions.create(
        model=MODEL_NAME, prompt="Invoices are", max_tokens=24, temperature=1.0, seed=seed
    ).choices[0].text


def test_stop_string_cuts_the_output(client):
    for seed in range(20):
        text = _sampled_completion(client, seed)
        word = re.search(r"[A-Za-z0-9]{2}", text[3:])
        if word:
            break
    assert word, "no alphanumeric pair in 20 sampled completions"
    stop = word.group(0)
    reply = client.completions.create(
        model=MODEL_NAME, prompt="Invoices are", max_tokens=24, temperature=1.0, seed=seed, stop=[stop, "@@@@"]
    )
    assert reply.choices[0].text == text[: text.find(stop)]
    assert reply.choices[0].finish_reason == "stop"
    streamed = client.completions.create(
        model=MODEL_NAME, prompt="Invoices are", max_tokens=24, temperature=1.0, seed=seed, stop=stop, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed) == reply.choices[0].text
    assert reply.usage.completion_tokens < 24 or text.find(stop) + len(stop) == len(text)


def test_streaming_chat_matches_the_plain_reply(client):
    kwargs = {"temperature": 1.0, "seed": 5, "max_tokens": 16}
    plain = chat(client, **kwargs)
    chunks = list(chat(client, stream=True, stream_options={"include_usage": True}, **kwargs))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == plain.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == plain.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens == 16


def test_streaming_completion_matches_the_plain_reply(client):
    plain = _sampled_completion(client, 7)
    stream = client.completions.create(
        model=MODEL_NAME, prompt="Invoices are", max_tokens=24, temperature=1.0, seed=7, stream=True
    )
    assert "".join(c.choices[0].text for c in stream) == plain


def test_content_parts_and_developer_role_are_accepted(client):
    as_text = chat(client, temperature=0, messages=[{"role": "system", "content": "Be brief."}] + QUESTION)
    as_parts = chat(
        client,
        temperature=0,
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION[0]["content"]}]},
        ],
    )
    assert as_parts.choices[0].message.content == as_text.choices[0].message.content
    assert as_parts.usage.prompt_tokens == as_text.usage.prompt_tokens


def test_concurrent_requests_are_decoded_in_one_batch_and_each_gets_its_own_answer(app, client):
    questions = [[{"role": "user", "content": q}] for q in ("How do I reset my password?", "Where is my invoice?",
                                                              "What are the opening hours?")]
    expected = [chat(client, temperature=0, messages=q).choices[0].message.content for q in questions]
    scheduler = app.state.service.backend.scheduler
    hook, sizes = scheduler.on_step, []
    scheduler.on_step = lambda running, waiting: (sizes.append(running), hook(running, waiting))
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            replies = list(pool.map(lambda q: chat(client, temperature=0, messages=q, max_tokens=40), questions))
    finally:
        scheduler.on_step = hook
    assert [r.choices[0].message.content[: len(e)] for r, e in zip(replies, expected)] == expected
    assert max(sizes) >= 2, f"concurrent requests were decoded one at a time (batch sizes {sorted(set(sizes))})"


@pytest.mark.parametrize(
    ("kwargs", "error", "param"),
    [
        ({"model": "no-such-model"}, openai.NotFoundError, "model"),
        ({"n": 2}, openai.BadRequestError, "n"),
        ({"max_tokens": 100_000}, openai.BadRequestError, "max_tokens"),
        ({"messages": []}, openai.UnprocessableEntityError, "messages"),
        ({"temperature": 3.5}, openai.UnprocessableEntityError, "temperature"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, openai.UnprocessableEntityError, "messages.0.role"),
        ({"stop": ["a", "b", "c", "d", "e"]}, openai.UnprocessableEntityError, "stop"),
    ],
)
def test_bad_chat_requests_get_openai_errors(client, kwargs, error, param):
    with pytest.raises(error) as caught:
        chat(client, **kwargs)
    body = caught.value.body
    assert body["type"] == "invalid_request_error"
    assert body["param"] == param
    assert body["message"]


def test_unknown_model_error_has_openai_code(client):
    with pytest.raises(openai.NotFoundError) as caught:
        chat(client, model="no-such-model")
    assert caught.value.body["code"] == "model_not_found"
    assert MODEL_NAME in caught.value.body["message"]


def test_several_prompts_are_refused(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model=MODEL_NAME, prompt=["one", "two"], max_tokens=2)
    assert caught.value.body["param"] == "prompt"


def test_unknown_route_and_bad_json_use_the_error_shape(base_url):
    missing = httpx.get(f"{base_url}/no-such-route")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    broken = httpx.post(
        f"{base_url}/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["type"] == "invalid_request_error"
