"""Prometheus metrics of the CPU server: requests, tokens, queue depth, batch size and latency.

Each app gets its own `CollectorRegistry`, so several servers in one process (tests, a model swap)
never share or clash over counters.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)


class ServerMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = r = CollectorRegistry()
        self.requests = Counter("tunepipe_requests", "HTTP requests by path and status", ["path", "status"], registry=r)
        self.rejected = Counter("tunepipe_rejected_requests", "requests refused with 429 (queue full)", registry=r)
        self.prompt_tokens = Counter("tunepipe_prompt_tokens", "prompt tokens of finished requests", registry=r)
        self.completion_tokens = Counter("tunepipe_completion_tokens", "generated tokens of finished requests",
                                         registry=r)
        self.queue_depth = Gauge("tunepipe_queue_depth", "requests waiting for a batch slot", registry=r)
        self.running = Gauge("tunepipe_running_requests", "requests in the decoding batch", registry=r)
        self.latency = Histogram("tunepipe_request_latency_seconds", "submit to last token", buckets=LATENCY_BUCKETS,
                                 registry=r)
        self.first_token = Histogram("tunepipe_time_to_first_token_seconds", "submit to first token",
                                     buckets=LATENCY_BUCKETS, registry=r)

    def on_step(self, running: int, waiting: int) -> None:
        self.running.set(running)
        self.queue_depth.set(waiting)

    def finished(self, seq) -> None:
        self.prompt_tokens.inc(seq.prompt_tokens)
        self.completion_tokens.inc(seq.completion_tokens)
        self.latency.observe(time.monotonic() - seq.submitted)
        if seq.first_token_at is not None:
            self.first_token.observe(seq.first_token_at - seq.submitted)

    def render(self) -> bytes:
        return generate_latest(self.registry)
