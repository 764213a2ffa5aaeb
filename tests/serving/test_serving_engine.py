"""Stop-string bookkeeping of the generation loop, and model loading errors."""

from __future__ import annotations

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.serving.engine import Engine, _find_stop, _safe_length


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [
        ("hello wor", ["world"], 6),
        ("hello world", ["xyz"], 11),
        ("hello w", ["world", "wx"], 6),
        ("abc\ufffd", [], 3),
        ("abc", [], 3),
    ],
)
def test_safe_length_holds_back_partial_stops(text, stops, expected):
    assert _safe_length(text, stops) == expected


def test_find_stop_takes_the_earliest_stop():
    assert _find_stop("one two three", ["three", "two"]) == 4
    assert _find_stop("one two", ["four"]) is None
    assert _find_stop("one two", []) is None


def test_engine_refuses_a_directory_without_a_model(tmp_path):
    with pytest.raises(TunepipeError, match="no config.json"):
        Engine(tmp_path)


def test_engine_counts_tokens_and_stops_at_max_tokens(tiny_model_dir):
    from tunepipe.serving.engine import SamplingParams

    engine = Engine(tiny_model_dir)
    prompt = engine.text_prompt_ids("Invoices are")
    generation = engine.generate(prompt, SamplingParams(max_tokens=5, temperature=0))
    text = generation.text()
    assert generation.prompt_tokens == len(prompt)
    assert generation.completion_tokens == 5 and generation.finish_reason == "length"
    assert text == engine.tokenizer.decode(_greedy_ids(engine, prompt, 5), skip_special_tokens=True)


def _greedy_ids(engine: Engine, prompt: list[int], n: int) -> list[int]:
    import torch

    with torch.inference_mode():
        out = engine.model.generate(
            torch.tensor([prompt]), max_new_tokens=n, do_sample=False, min_new_tokens=n,
            pad_token_id=engine.tokenizer.pad_token_id,
        )
    return out[0, len(prompt):].tolist()
