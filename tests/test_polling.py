"""tunepipe.polling: bounded by attempts, an exception ends the wait at once, the value comes back."""

from __future__ import annotations

import pytest

from tunepipe.polling import PollTimeout, poll


def test_returns_the_first_value_that_is_not_none():
    answers, slept = iter([None, None, "ready"]), []
    assert poll(lambda: next(answers), timeout_s=10, poll_s=2, sleep=slept.append) == "ready"
    assert slept == [2, 2]


def test_gives_up_after_ceil_timeout_over_interval_plus_one_attempts():
    calls, slept = [], []
    with pytest.raises(PollTimeout):
        poll(lambda: calls.append(1), timeout_s=5, poll_s=2, sleep=slept.append)
    assert len(calls) == 4 and slept == [2, 2, 2]


def test_an_error_from_the_check_ends_the_wait_at_once():
    calls = []

    def check():
        calls.append(1)
        raise ValueError("failed for good")

    with pytest.raises(ValueError, match="failed for good"):
        poll(check, timeout_s=100, poll_s=1, sleep=lambda s: None)
    assert len(calls) == 1
