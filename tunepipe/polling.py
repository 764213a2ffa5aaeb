"""Bounded waits for something outside this process (a TrainJob, a rank-0 marker), through tenacity.

`poll(check, timeout_s, poll_s)` calls `check()` until it returns a value other than None, every
`poll_s` seconds, at most ceil(timeout_s / poll_s) + 1 times; an exception from `check` ends the wait
at once. The attempt count, not the wall clock, bounds the wait, so a test can pass its own `sleep`.
"""

from __future__ import annotations

import math
import time
from typing import Callable, TypeVar

T = TypeVar("T")


class PollTimeout(Exception):
    """`check` still returned None after the last attempt."""


def poll(check: Callable[[], T | None], timeout_s: float, poll_s: float,
         sleep: Callable[[float], None] = time.sleep) -> T:
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_fixed

    attempts = math.ceil(timeout_s / poll_s) + 1 if poll_s > 0 else 1
    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait_fixed(poll_s), sleep=sleep,
                        retry=retry_if_result(lambda value: value is None))
    try:
        return retrying(check)
    except RetryError:
        raise PollTimeout() from None
