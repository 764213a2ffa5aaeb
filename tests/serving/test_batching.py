"""Continuous batching: batched output equals one-at-a-time output, the queue limit, timeouts, disconnects."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tunepipe.serving.engine import Engine, SamplingParams
from tunepipe.serving.scheduler import QueueFull, Scheduler
from tunepipe.serving.server import ServeSettings, create_app
from tunepipe.serving.smoke import running_server

MODEL = "tiny-test-model"
PROMPTS = [
    "Invoices are",
    "How do I reset my password? Open the settings",
    "The quick",
    "Our return policy allows returns within thirty days of purchase with a",
    "Please contact support if",
]


@pytest.fixture(scope="module")
def engine(tiny_model_dir) -> Engine:
    return Engine(tiny_model_dir)


def _wait(seqs, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(s.state.done for s in seqs):
        assert time.monotonic() < deadline, "the scheduler did not finish in time"
        time.sleep(0.005)


def _alone(engine: Engine, prompt: str, params: SamplingParams) -> list[int]:
    generation = engine.generate(engine.text_prompt_ids(prompt), params)
    generation.text()
    return generation.state.ids


def test_batched_greedy_equals_unbatched_greedy_per_request(engine):
    lengths = [20, 7, 33, 12, 25]
    expected = [_alone(engine, p, SamplingParams(max_tokens=n, temperature=0)) for p, n in zip(PROMPTS, lengths)]
    sizes: list[int] = []
    scheduler = Scheduler(engine, max_batch_size=8, on_step=lambda running, waiting: sizes.append(running))
    try:
        seqs = [scheduler.submit(engine.text_prompt_ids(p), SamplingParams(max_tokens=n, temperature=0))
                for p, n in zip(PROMPTS, lengths)]
        _wait(seqs)
    finally:
        scheduler.close()
    assert [s.state.ids for s in seqs] == expected
    assert [s.completion_tokens for s in seqs] == lengths
    assert max(sizes) >= 3, f"requests were not decoded together (batch sizes seen: {sorted(set(sizes))})"


def test_per_request_sampling_and_stops_survive_batching(engine):
    params = [
        SamplingParams(max_tokens=24, temperature=1.0, seed=11),
        SamplingParams(max_tokens=24, temperature=0.7, top_p=0.9, seed=12),
        SamplingParams(max_tokens=24, temperature=0),
    ]
    alone = [engine.generate(engine.text_prompt_ids(p), sp) for p, sp in zip(PROMPTS, params)]
    texts = [g.text() for g in alone]
    stop = texts[0][4:6]
    params.append(SamplingParams(max_tokens=24, temperature=1.0, seed=11, stop=[stop]))
    scheduler = Scheduler(engine, max_batch_size=4)
    try:
        seqs = [scheduler.submit(engine.text_prompt_ids(p), sp) for p, sp in zip(PROMPTS[:3] + PROMPTS[:1], params)]
        _wait(seqs)
    finally:
        scheduler.close()
    decoded = [engine.tokenizer.decode(s.state.ids, skip_special_tokens=True) for s in seqs]
    assert decoded[:3] == texts
    assert seqs[3].finish_reason == "stop"
    assert decoded[3][: decoded[3].find(stop)] == texts[0][: texts[0].find(stop)]


def test_max_batch_size_one_decodes_one_at_a_time(engine):
    sizes: list[int] = []
    scheduler = Scheduler(engine, max_batch_size=1, on_step=lambda running, waiting: sizes.append(running))
    try:
        seqs = [scheduler.submit(engine.text_prompt_ids(p), SamplingParams(max_tokens=8, temperature=0))
                for p in PROMPTS[:3]]
        _wait(seqs)
    finally:
        scheduler.close()
    assert max(sizes) == 1
    assert all(s.completion_tokens == 8 for s in seqs)


def test_the_waiting_queue_is_bounded(engine):
    scheduler = Scheduler(engine, max_batch_size=1, max_queue=2)
    try:
        with pytest.raises(QueueFull):
            for _ in range(10):
                scheduler.submit(engine.text_prompt_ids("Invoices are"), SamplingParams(max_tokens=300, temperature=0))
    finally:
        for seq in list(scheduler._waiting) + scheduler._running:
            seq.cancel()
        scheduler.close()


@pytest.fixture(scope="module")
def small_server(tiny_model_dir):
    settings = ServeSettings(max_batch_size=1, max_queue=1, request_timeout_s=60)
    app = create_app(tiny_model_dir, MODEL, settings=settings)
    with running_server(app) as url:
        yield app, url


def test_over_capacity_answers_429_with_retry_after(small_server):
    app, url = small_server
    body = {"model": MODEL, "prompt": "Invoices are", "max_tokens": 400, "temperature": 0}
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: httpx.post(f"{url}/completions", json=body, timeout=60), range(6)))
    codes = sorted(r.status_code for r in replies)
    assert 429 in codes and 200 in codes and max(codes) < 500, codes
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    served = [r.json() for r in replies if r.status_code == 200]
    assert all(r["usage"]["completion_tokens"] == 400 or r["choices"][0]["finish_reason"] == "stop" for r in served)


def test_openai_client_sees_a_rate_limit_error(small_server):
    _, url = small_server
    client = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=60)
    errors: list[Exception] = []

    def ask(_):
        try:
            client.completions.create(model=MODEL, prompt="Invoices are", max_tokens=400, temperature=0)
        except openai.RateLimitError as err:
            errors.append(err)

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(ask, range(5)))
    assert errors and errors[0].status_code == 429


def test_a_client_that_disconnects_mid_stream_frees_its_slot(small_server):
    app, url = small_server
    scheduler = app.state.service.backend.scheduler
    body = {"model": MODEL, "prompt": "Invoices are", "max_tokens": 1000, "temperature": 0, "stream": True}
    with httpx.stream("POST", f"{url}/completions", json=body, timeout=60) as reply:
        first = next(reply.iter_lines())
        assert first.startswith("data: ")
    deadline = time.monotonic() + 10
    while scheduler.running or scheduler.waiting:
        assert time.monotonic() < deadline, "the disconnected request kept its batch slot"
        time.sleep(0.02)
    quick = httpx.post(f"{url}/completions", json=body | {"stream": False, "max_tokens": 3}, timeout=60)
    assert quick.status_code == 200


def test_a_request_over_the_timeout_gets_504_and_leaves(tiny_model_dir):
    app = create_app(tiny_model_dir, MODEL, settings=ServeSettings(request_timeout_s=0.05))
    with running_server(app) as url:
        body = {"model": MODEL, "prompt": "Invoices are", "max_tokens": 1000, "temperature": 0}
        reply = httpx.post(f"{url}/completions", json=body, timeout=60)
        assert reply.status_code == 504 and reply.json()["error"]["code"] == "timeout"
        scheduler = app.state.service.backend.scheduler
        deadline = time.monotonic() + 10
        while scheduler.running:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_concurrent_http_requests_are_batched_and_match_sequential_replies(tiny_model_dir):
    app = create_app(tiny_model_dir, MODEL, settings=ServeSettings(max_batch_size=8))
    sizes: list[int] = []
    scheduler = app.state.service.backend.scheduler
    hook = scheduler.on_step
    scheduler.on_step = lambda running, waiting: (sizes.append(running), hook(running, waiting))
    with running_server(app) as url:
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=60)
        kinds = [{"temperature": 0}, {"temperature": 1.0, "seed": 4}, {"temperature": 0.8, "top_p": 0.8, "seed": 9}]

        def ask(i):
            return client.completions.create(model=MODEL, prompt=PROMPTS[i % 5], max_tokens=30, **kinds[i % 3]).choices[0].text

        sequential = [ask(i) for i in range(6)]
        sizes.clear()
        start = threading.Barrier(6)

        def ask_together(i):
            start.wait()
            return ask(i)

        with ThreadPoolExecutor(max_workers=6) as pool:
            together = list(pool.map(ask_together, range(6)))
    assert together == sequential
    assert max(sizes) >= 3
