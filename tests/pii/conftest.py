"""Fixtures shared by the PII, RAI-screen, review and governance tests (tests/stage_fixtures.py)."""

from tests.stage_fixtures import *  # noqa: F401,F403
