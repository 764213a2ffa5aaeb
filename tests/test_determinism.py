"""Every seeded generator in the repo gives the same output whatever the clock and time zone say.

Each generator runs with the clock moved (time-machine: `datetime.now`, `time.time` and the local time
zone all mocked) to dates more than a year apart, in zones far from UTC, and must reproduce the bytes
it gives on the real clock (and the committed file where one is committed). A generator that asks
Faker or datetime for "now" or "today" fails here on any day, not only after the calendar moves.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.pii import devset, testsplit
from tunepipe.pii import evalset

ROOT = Path(__file__).resolve().parents[1]
CLOCKS = [
    ("2026-11-23T09:00", "UTC"),
    ("2027-06-01T23:30", "Pacific/Kiritimati"),
    ("2028-02-29T04:15", "America/St_Johns"),
]


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sha(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def demo_data(tmp: Path) -> bytes:
    out = tmp / "support.jsonl"
    load(ROOT / "examples" / "generate_data.py", "generate_data").main(["--seed", "7", "--n", "3000", "--out", str(out)])
    return out.read_bytes()


def benchmark_data(tmp: Path) -> bytes:
    out = tmp / "bench.jsonl"
    load(ROOT / "benchmarks" / "data_prep.py", "bench_data_prep").generate(600, 13, out)
    return out.read_bytes()


def pii_benchmark_records(tmp: Path) -> list:
    return load(ROOT / "benchmarks" / "pii.py", "bench_pii").make_records(300)


def dedup_fixture(tmp: Path) -> list:
    return load(ROOT / "tests" / "data_quality" / "test_dedup.py", "fixture_dedup").corpus().to_dict("records")


GENERATORS = {
    "pii_eval": lambda tmp: devset.generate(),
    "pii_test_documents": lambda tmp: testsplit.documents(270),
    "demo_data": demo_data,
    "benchmark_data": benchmark_data,
    "pii_benchmark_records": pii_benchmark_records,
    "dedup_fixture": dedup_fixture,
}
COMMITTED = {
    "pii_eval": lambda: evalset.load(devset.DEV_SET),
    "pii_test_documents": lambda: [{k: v for k, v in r.items() if k not in ("id", "split")}
                                   for r in evalset.load(testsplit.OUT) if r["source"] == "documents"],
    "demo_data": lambda: (ROOT / "examples" / "data" / "support.jsonl").read_bytes(),
}


@pytest.fixture(scope="module")
def on_real_clock(tmp_path_factory) -> dict[str, str]:
    return {name: sha(make(tmp_path_factory.mktemp(name))) for name, make in GENERATORS.items()}


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_files_are_what_the_generators_write_today(name, on_real_clock):
    assert on_real_clock[name] == sha(COMMITTED[name]()), f"regenerate the committed output of {name}"


@pytest.mark.parametrize("when,zone", CLOCKS)
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_output_does_not_depend_on_the_clock_or_time_zone(name, when, zone, on_real_clock, tmp_path):
    moved = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))
    with time_machine.travel(moved, tick=False):
        assert datetime.now().astimezone().utcoffset() == moved.utcoffset()
        assert sha(GENERATORS[name](tmp_path)) == on_real_clock[name]
