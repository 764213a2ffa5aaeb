"""Token-by-token text generation for one Hugging Face causal LM on CPU.

`Engine` loads the model and tokenizes prompts; `TextState` turns generated tokens into text pieces
(stop strings, finish reasons, token counts) for both the one-sequence loop here and the batch
scheduler, so streaming, non-streaming, batched and unbatched replies behave identically. Sampling
uses a per-request `torch.Generator`, so a `seed` makes sampling reproducible and greedy decoding
(temperature 0) is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tunepipe.errors import TunepipeError

GREEDY_BELOW = 1e-5


class RequestError(ValueError):
    """A request the model cannot serve as asked (the server answers 400)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


@dataclass
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


class TextState:
    """One sequence's decoded text: token by token, it yields the pieces that are safe to send.

    Both the one-sequence loop below and the batch scheduler feed it, so stop strings, finish
    reasons and token counts are the same however a request is decoded.
    """

    def __init__(self, tokenizer, eos_ids: set[int], params: SamplingParams):
        self.tokenizer, self.eos_ids, self.params = tokenizer, eos_ids, params
        self.ids: list[int] = []
        self.emitted = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def add(self, token: int) -> str:
        """Take one generated token; return the new text that can be sent (maybe empty)."""
        self.completion_tokens += 1
        if token in self.eos_ids:
            self.finish_reason = "stop"
            return self._rest()
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        cut = _find_stop(text, self.params.stop)
        if cut is not None:
            self.finish_reason = "stop"
            piece, self.emitted = text[self.emitted:cut], cut
            return piece
        if self.completion_tokens >= self.params.max_tokens:
            self.finish_reason = "length"
            return self._rest(text)
        safe = _safe_length(text, self.params.stop)
        piece = text[self.emitted:safe] if safe > self.emitted else ""
        self.emitted = max(self.emitted, safe)
        return piece

    def _rest(self, text: str | None = None) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True) if text is None else text
        piece, self.emitted = text[self.emitted:], len(text)
        return piece


class Generation:
    """Iterate to get text pieces; afterwards `finish_reason` and `completion_tokens` are set."""

    def __init__(self, engine: "Engine", prompt_ids: list[int], params: SamplingParams):
        self.prompt_tokens = len(prompt_ids)
        self.state = TextState(engine.tokenizer, engine.eos_ids, params)
        self._pieces = engine._generate(prompt_ids, params, self.state)

    @property
    def completion_tokens(self) -> int:
        return self.state.completion_tokens

    @property
    def finish_reason(self) -> str | None:
        return self.state.finish_reason

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def text(self) -> str:
        return "".join(self._pieces)


class Engine:
    """A model + tokenizer loaded once, in eval mode, on CPU."""

    def __init__(self, model_dir: str | Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise TunepipeError(
                f"{model_dir} is not a Hugging Face model directory (no config.json); pass the "
                "directory written by training (e.g. <out>/merged) or a models:/NAME@alias URI"
            )
        self.model_dir = str(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.context_length = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.eos_ids = self._eos_ids()

    def _eos_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        return {i for i in ids if i is not None}

    def chat_prompt_ids(self, messages: list[dict]) -> list[int]:
        if not self.tokenizer.chat_template:
            raise RequestError("this model has no chat template; use /v1/completions", "messages")
        try:
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception as err:
            raise RequestError(f"the model's chat template rejected the messages: {err}", "messages") from None
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def text_prompt_ids(self, prompt: str) -> list[int]:
        ids = self.tokenizer(prompt)["input_ids"]
        if not ids:
            if self.tokenizer.bos_token_id is None:
                raise RequestError("prompt must not be empty", "prompt")
            ids = [self.tokenizer.bos_token_id]
        return ids

    def room_for(self, prompt_ids: list[int]) -> int:
        """How many tokens can still be generated after this prompt."""
        return self.context_length - len(prompt_ids)

    def generate(self, prompt_ids: list[int], params: SamplingParams) -> Generation:
        return Generation(self, prompt_ids, params)

    def _generate(self, prompt_ids: list[int], params: SamplingParams, state: TextState) -> Iterator[str]:
        generator = make_generator(params.seed)
        cache, next_input = None, prompt_ids
        while not state.done:
            token, cache = self._step(next_input, cache, params, generator)
            piece = state.add(token)
            if piece:
                yield piece
            next_input = [token]

    def _step(self, input_ids: list[int], cache, params: SamplingParams, generator):
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([input_ids]), past_key_values=cache, use_cache=True)
            token = pick(out.logits[0, -1].float(), params, generator)
        return token, out.past_key_values



def make_generator(seed: int | None):
    import torch

    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def pick(logits, params: SamplingParams, generator, allowed=None) -> int:
    """The next token: greedy or sampled (temperature, top_p), only among `allowed` ids if given."""
    import torch

    if allowed is not None:
        masked = torch.full_like(logits, float("-inf"))
        masked[allowed] = logits[allowed]
        logits = masked
    if params.temperature < GREEDY_BELOW:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= params.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


def _find_stop(text: str, stops: list[str]) -> int | None:
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None


def _safe_length(text: str, stops: list[str]) -> int:
    """Length of the prefix that can be sent: no partial stop string, no half-decoded character."""
    end = len(text) - 1 if text.endswith("\ufffd") else len(text)
    held = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, end), 0, -1):
            if text[:end].endswith(stop[:k]):
                held = max(held, k)
                break
    return end - held
