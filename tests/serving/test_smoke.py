"""The serving smoke test and the model URI resolution it relies on."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.serving.server import resolve_model_dir
from tunepipe.serving.smoke import running_server, smoke_test


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config.model_validate(
        {
            "project": {"data_dir": str(tmp_path / "data")},
            "data": {"paths": [str(tmp_path / "in.jsonl")]},
            "registry": {"model_name": "smoke-model"},
            "serving": {"max_new_tokens": 6, "smoke_question": "What are the opening hours?"},
        }
    )


def test_smoke_test_answers_through_the_openai_client(cfg, tiny_model_dir):
    result = smoke_test(cfg, tiny_model_dir)
    assert result["question"] == "What are the opening hours?"
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert result["model"] == "smoke-model"
    assert 0 < result["completion_tokens"] <= 6
    assert result["latency_s"] > 0


def test_smoke_test_is_greedy_and_takes_a_question(cfg, tiny_model_dir):
    first = smoke_test(cfg, tiny_model_dir, question="Where is my invoice?")
    second = smoke_test(cfg, tiny_model_dir, question="Where is my invoice?")
    assert first["question"] == "Where is my invoice?"
    assert first["answer"] == second["answer"]


def test_an_empty_answer_fails_the_smoke_test(cfg, tmp_path):
    """A real model whose every token ends the sequence: it answers with nothing."""
    from transformers import GenerationConfig

    from tunepipe.training.tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "mute")
    generation = GenerationConfig.from_pretrained(model_dir)
    generation.eos_token_id = list(range(512))
    generation.save_pretrained(model_dir)
    with pytest.raises(TunepipeError, match="answered the smoke question with nothing"):
        smoke_test(cfg, model_dir)


def test_missing_model_dir_is_a_clear_error(cfg, tmp_path):
    with pytest.raises(TunepipeError, match="not found"):
        smoke_test(cfg, str(tmp_path / "no-model"))


def test_local_dir_resolves_to_an_absolute_path(cfg, tiny_model_dir, monkeypatch):
    from pathlib import Path

    parent = Path(tiny_model_dir).parent
    monkeypatch.chdir(parent)
    assert resolve_model_dir(cfg, Path(tiny_model_dir).name) == str(Path(tiny_model_dir).resolve())


def test_running_server_stops_on_exit():
    app = FastAPI()
    app.get("/health")(lambda: {"status": "ok"})
    with running_server(app) as base_url:
        assert httpx.get(base_url.removesuffix("/v1") + "/health").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url.removesuffix("/v1") + "/health", timeout=2.0)


def test_server_that_never_gets_healthy_is_reported():
    app = FastAPI()
    app.get("/health")(lambda: JSONResponse({"status": "loading"}, status_code=503))
    with pytest.raises(TunepipeError, match="did not answer /health"):
        with running_server(app, timeout_s=1.0):
            pass



def test_serve_on_a_taken_port_is_one_line_before_any_model_is_loaded(tmp_path):
    import socket

    from typer.testing import CliRunner

    from tunepipe.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", str(tmp_path / "no-model-here"), "--port", str(port)])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"port {port} on 127.0.0.1 is already in use by another process" in message
    assert "--port (or serving.port)" in message and "no-model-here" not in message
