"""`serve models:/NAME@champion` follows the alias: a real MLflow SQLite registry, two tiny-model
versions, the alias moved while clients keep asking; no request fails and the new version is served."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.registry import register_model
from tunepipe.serving.follow import parse_alias_uri
from tunepipe.serving.server import build_app
from tunepipe.serving.smoke import running_server

NAME = "swap-model"
METRICS = {
    "n_loss": 4, "n_generated": 2,
    "base": {"loss": 6.1, "rouge_l": 0.05}, "candidate": {"loss": 2.3, "rouge_l": 0.41},
    "examples": [{"prompt": "p", "reference": "r", "base": "b", "candidate": "c"}],
}
LINEAGE = {
    "dataset_digest": "d" * 64, "approval_reviewer": "alice", "approval_time": "2026-11-22T10:00:00Z",
    "pipeline_run_id": "pipeline-1", "git_commit": "abc1234", "config_digest": "0123456789abcdef",
    "training_run_id": "run-train-1",
}
BODY = {"model": NAME, "prompt": "Invoices are", "max_tokens": 12, "temperature": 0}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from tunepipe.serving.engine import Engine, SamplingParams
    from tunepipe.training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("follow")
    cfg = Config.model_validate({
        "project": {"data_dir": str(root / "data")}, "data": {"paths": ["unused.jsonl"]},
        "registry": {"model_name": NAME, "alias": "champion"}, "serving": {"alias_poll_s": 0.2},
    })
    expected = {}
    for version, seed in (("1", 1), ("2", 2)):
        merged = build_tiny_model(root / f"v{version}" / "merged", seed=seed)
        register_model(cfg, root / f"v{version}", METRICS, LINEAGE)
        engine = Engine(merged)
        expected[version] = engine.generate(engine.text_prompt_ids(BODY["prompt"]),
                                            SamplingParams(max_tokens=12, temperature=0)).text()
    assert expected["1"] != expected["2"]
    client = tracking.client(cfg)
    client.set_registered_model_alias(NAME, "champion", "1")
    return cfg, client, expected


def test_alias_uris_are_recognised():
    assert parse_alias_uri("models:/m@champion") == ("m", "champion")
    assert parse_alias_uri("models:/m/3") is None and parse_alias_uri("/tmp/model") is None


def test_the_alias_moves_under_load_without_a_failed_request(registry):
    cfg, client, expected = registry
    app, follower = build_app(cfg, f"models:/{NAME}@champion")
    results: list[tuple[int, str]] = []
    stop = threading.Event()
    try:
        with running_server(app) as url:
            base = url.removesuffix("/v1")
            assert httpx.get(f"{base}/health").json()["version"] == "1"

            def ask_until_stopped():
                while not stop.is_set():
                    reply = httpx.post(f"{url}/completions", json=BODY, timeout=60)
                    results.append((reply.status_code, reply.json()["choices"][0]["text"]
                                    if reply.status_code == 200 else reply.text))

            clients = [threading.Thread(target=ask_until_stopped) for _ in range(3)]
            for t in clients:
                t.start()
            time.sleep(0.5)
            client.set_registered_model_alias(NAME, "champion", "2")
            deadline = time.monotonic() + 60
            while httpx.get(f"{base}/health").json()["version"] != "2":
                assert time.monotonic() < deadline, "the server did not follow the alias within 60 s"
                time.sleep(0.1)
            served_before = len(results)
            time.sleep(0.5)
            stop.set()
            for t in clients:
                t.join()
            models = httpx.get(f"{url}/models").json()["data"]
            after = httpx.post(f"{url}/completions", json=BODY, timeout=60).json()["choices"][0]["text"]
    finally:
        stop.set()
        follower.stop()
    assert results and all(code == 200 for code, _ in results), [r for r in results if r[0] != 200][:3]
    assert {text for _, text in results} <= {expected["1"], expected["2"]}
    assert expected["1"] in {text for _, text in results[:served_before]}
    assert len(results) > served_before and results[-1][1] == expected["2"]
    assert models[0]["version"] == "2" and after == expected["2"]
