"""Continuous batching on CPU: one decoding thread interleaves every running request of one model.

Each request is prefilled alone (its own KV cache) and then joins the running batch: one batched
forward pass per step decodes the next token of every running sequence. The batch's KV cache is
left-padded to a common length, with an attention mask and per-row position ids, so a sequence sees
exactly the keys it would see alone. Requests join and leave between steps; per-request sampling
parameters, stop strings, max tokens and JSON constraints are applied row by row. A bounded
waiting queue refuses work beyond `max_queue` (the server answers 429); a cancelled request (client
gone, timeout) leaves the batch at the next step. `max_batch_size=1` is the one-at-a-time server.

No maintained server covered this on CPU: `transformers serve --continuous-batching` ignores
`response_format`, and transformers' `generate_batch` takes one generation config for all requests.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from dataclasses import dataclass, field

from tunepipe.serving.engine import Engine, SamplingParams, TextState, make_generator, pick

log = logging.getLogger("tunepipe.serving")

IDLE_WAIT_S = 0.05


class QueueFull(Exception):
    """More requests are waiting than the queue holds."""


class SchedulerClosed(Exception):
    """The scheduler no longer takes requests (its model is being replaced)."""


@dataclass(eq=False)
class Sequence:
    """One request in the scheduler; the server reads its pieces from `queue` (None ends them)."""

    prompt_ids: list[int]
    params: SamplingParams
    state: TextState
    constraint: object | None = None
    loop: asyncio.AbstractEventLoop | None = None
    queue: asyncio.Queue | None = None
    cancelled: bool = False
    submitted: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    generator: object = None
    position: int = 0
    last_token: int = 0

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt_ids)

    @property
    def completion_tokens(self) -> int:
        return self.state.completion_tokens

    @property
    def finish_reason(self) -> str | None:
        return self.state.finish_reason

    def cancel(self) -> None:
        self.cancelled = True

    def _send(self, item) -> None:
        if self.loop is None:
            return
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:
            self.cancelled = True


class Scheduler:
    """The decoding thread over one `Engine`; `submit` from the event loop, read `Sequence.queue`."""

    def __init__(self, engine: Engine, max_batch_size: int = 8, max_queue: int = 16, on_step=None):
        self.engine = engine
        self.max_batch_size, self.max_queue = max_batch_size, max_queue
        self.on_step = on_step or (lambda running, waiting: None)
        self._waiting: collections.deque[Sequence] = collections.deque()
        self._running: list[Sequence] = []
        self._cache = None
        self._mask = None
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="tunepipe-decode", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, prompt_ids: list[int], params: SamplingParams, constraint=None) -> Sequence:
        seq = Sequence(prompt_ids, params, TextState(self.engine.tokenizer, self.engine.eos_ids, params), constraint)
        try:
            seq.loop, seq.queue = asyncio.get_running_loop(), asyncio.Queue()
        except RuntimeError:
            pass
        with self._wake:
            if self._closing:
                raise SchedulerClosed()
            if len(self._waiting) >= self.max_queue:
                raise QueueFull()
            self._waiting.append(seq)
            self._wake.notify()
        return seq

    def close(self, wait: bool = True) -> None:
        """Take no new requests; finish the running and waiting ones, then stop the thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if wait:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._closing and not self._waiting and not self._running:
                    return
                if not self._waiting and not self._running:
                    self._wake.wait(IDLE_WAIT_S)
                    continue
            try:
                self._admit()
                if self._running:
                    self._decode_step()
                self._retire()
            except Exception:
                log.exception("the decoding step failed; failing the running requests")
                for seq in self._running:
                    seq.state.finish_reason = seq.state.finish_reason or "error"
                self._retire()
            self.on_step(len(self._running), len(self._waiting))

    def _admit(self) -> None:
        while len(self._running) < self.max_batch_size:
            with self._wake:
                if not self._waiting:
                    return
                seq = self._waiting.popleft()
            if seq.cancelled:
                seq._send(None)
                continue
            self._prefill(seq)

    def _prefill(self, seq: Sequence) -> None:
        import torch

        seq.generator = make_generator(seq.params.seed)
        with torch.inference_mode():
            out = self.engine.model(input_ids=torch.tensor([seq.prompt_ids]), use_cache=True)
        seq.position = len(seq.prompt_ids)
        self._take(seq, out.logits[0, -1].float())
        if seq.state.done:
            return
        self._join(seq, [(layer.keys, layer.values) for layer in out.past_key_values.layers])

    def _take(self, seq: Sequence, logits) -> None:
        allowed = seq.constraint.allowed(seq.state.ids) if seq.constraint is not None else None
        token = pick(logits, seq.params, seq.generator, allowed)
        if seq.first_token_at is None:
            seq.first_token_at = time.monotonic()
        seq.last_token = token
        piece = seq.state.add(token)
        if piece:
            seq._send(piece)
        if seq.state.done:
            seq._send(None)

    def _join(self, seq: Sequence, kv: list[tuple]) -> None:
        import torch
        from transformers import DynamicCache

        length = kv[0][0].shape[-2]
        if self._cache is None:
            self._cache = DynamicCache(ddp_cache_data=kv)
            self._mask = torch.ones((1, length), dtype=torch.long)
            self._running.append(seq)
            return
        total = max(length, self._mask.shape[1])
        for layer, (k, v) in zip(self._cache.layers, kv):
            layer.keys = torch.cat([_left_pad(layer.keys, total), _left_pad(k, total)])
            layer.values = torch.cat([_left_pad(layer.values, total), _left_pad(v, total)])
        new_row = torch.ones((1, length), dtype=torch.long)
        self._mask = torch.cat([_left_pad(self._mask, total), _left_pad(new_row, total)])
        self._running.append(seq)

    def _decode_step(self) -> None:
        import torch

        rows = self._running
        input_ids = torch.tensor([[s.last_token] for s in rows])
        positions = torch.tensor([[s.position] for s in rows])
        mask = torch.cat([self._mask, torch.ones((len(rows), 1), dtype=torch.long)], dim=1)
        with torch.inference_mode():
            out = self.engine.model(
                input_ids=input_ids, attention_mask=mask, position_ids=positions,
                cache_position=torch.tensor([self._mask.shape[1]]), past_key_values=self._cache, use_cache=True,
            )
        self._mask = mask
        logits = out.logits[:, -1].float()
        for i, seq in enumerate(rows):
            seq.position += 1
            if not seq.cancelled:
                self._take(seq, logits[i])

    def _retire(self) -> None:
        keep = [i for i, s in enumerate(self._running) if not (s.state.done or s.cancelled)]
        for s in self._running:
            if s.cancelled and not s.state.done:
                s._send(None)
        if len(keep) == len(self._running):
            return
        self._running = [self._running[i] for i in keep]
        if not keep:
            self._cache = self._mask = None
            return
        self._select(keep)

    def _select(self, keep: list[int]) -> None:
        import torch

        index = torch.tensor(keep)
        mask = self._mask[index]
        start = int((mask.sum(dim=0) > 0).nonzero()[0])
        self._mask = mask[:, start:]
        for layer in self._cache.layers:
            layer.keys = layer.keys[index, :, start:]
            layer.values = layer.values[index, :, start:]


def _left_pad(t, total: int):
    """Zero-pad dimension -2 of a KV tensor (or dimension 1 of a mask) on the left to `total`."""
    import torch

    if t.dim() == 2:
        missing = total - t.shape[1]
        return t if missing == 0 else torch.cat([t.new_zeros((t.shape[0], missing)), t], dim=1)
    missing = total - t.shape[-2]
    if missing == 0:
        return t
    pad = t.new_zeros(t.shape[:-2] + (missing, t.shape[-1]))
    return torch.cat([pad, t], dim=-2)
