"""The live view of `tunepipe run`, fed the kfp local runner's output of recorded runs.

tests/pipelines/data holds three recorded demo runs, as the runner printed them (`tunepipe run -v`), with
each step's own output trimmed to its first and last lines: a fresh run, the unchanged-data rerun (cache
hits, the training branch skipped) and a run whose ingest step failed.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from tunepipe.errors import TunepipeError
from tunepipe.pipelines.live import LiveView, figures
from tunepipe.pipelines.local import child_pids, stop_step_processes, writable
from tunepipe.ports import check_port_free

DATA = Path(__file__).resolve().parent / "data"
ROW = re.compile(r"^(.) (\S+)\s+(done|cached|failed|skipped|stopped|running)\s+(?:([\d.]+) s)?\s*(.*)$")


def replay(name: str, tmp_path: Path, verbose: bool = False, cache_root: Path | None = None,
           terminal: bool = False) -> tuple[LiveView, str]:
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=terminal, color_system=None)
    with LiveView(tmp_path / "logs", console, cache_root=cache_root, verbose=verbose) as view:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True):
            print(line, end="")
    return view, out.getvalue()


def rows(text: str) -> dict[str, tuple]:
    return {m.group(2): (m.group(3), m.group(4), m.group(5).strip())
            for m in map(ROW.match, text.splitlines()) if m}


def test_a_fresh_run_is_one_line_per_step_with_its_time_and_figures(tmp_path):
    view, out = replay("run.log", tmp_path)
    steps = rows(out)
    assert list(steps) == ["setup", "fingerprint", "ingest", "clean", "dedup", "data-card", "pii", "review",
                           "change", "approval-gate", "split", "finetune", "evaluate", "eval-gate", "register",
                           "serve-smoke", "notify-candidate"]
    assert len(out.splitlines()) == len(steps), "nothing but the step lines"
    assert all(state == "done" for state, _, _ in steps.values())
    assert steps["ingest"] == ("done", "14.2", "3000 rows, 13 quarantined")
    assert steps["dedup"][2] == "kept 2829, duplicates 90 exact + 68 near"
    assert steps["pii"][2] == "2633 of 2829 rows redacted"
    assert steps["finetune"][1:] == ("96.6", "loss 3.740 → 1.910, val 3.686 → 2.291, 20 steps")
    assert steps["evaluate"][2] == "loss 3.266 → 1.956, rouge_l 0.158 → 0.240"
    assert steps["eval-gate"][2] == "passed" and steps["register"][2] == "version 1 @candidate"
    assert "executor_input" not in out and "Executing task" not in out


def test_each_step_has_its_own_log_file_with_its_output(tmp_path):
    replay("run.log", tmp_path)
    logs = tmp_path / "logs"
    assert {p.stem for p in logs.iterdir()} >= {"pipeline", "ingest", "finetune", "evaluate", "serve-smoke"}
    ingest = (logs / "ingest.log").read_text()
    assert "Executing task 'ingest-op'" in ingest and "Looking for component `ingest_op`" in ingest
    assert "Task 'ingest-op' finished with status SUCCESS" in ingest and "\x1b[" not in ingest
    assert "clean_op" not in ingest and "Running pipeline: 'tunepipe'" in (logs / "pipeline.log").read_text()


def test_a_rerun_marks_cache_hits_with_the_cached_figures_and_the_skipped_branch(tmp_path):
    cache = tmp_path / "kfp_cache"
    cache.mkdir()
    summary = {"input_rows": 3000, "quarantined": 13}
    (cache / ("c28fbeef5e9d" + "0" * 52 + ".json")).write_text(json.dumps({"Output": json.dumps(summary)}))
    _, out = replay("rerun.log", tmp_path, cache_root=cache)
    steps = rows(out)
    assert steps["ingest"] == ("cached", None, "3000 rows, 13 quarantined")
    assert steps["clean"][0] == steps["dedup"][0] == steps["pii"][0] == "cached"
    assert steps["change"] == ("done", "3.2", "no change")
    assert steps["condition-1"] == ("skipped", None, "condition not met")
    assert "finetune" not in steps


def test_a_failed_step_is_marked_and_its_own_last_lines_are_kept(tmp_path):
    view, out = replay("failed.log", tmp_path)
    steps = rows(out)
    assert steps["ingest"][0] == "failed" and steps["clean"] == ("skipped", None, "upstream failed")
    step, tail = view.failure_tail()
    assert step.name == "ingest-op" and step.log == tmp_path / "logs" / "ingest.log"
    assert "above data.max_quarantine_rate=0.001" in tail[-1]
    assert not any(" - INFO - " in t or " - ERROR - " in t for t in tail)
    view.console.file = printed = io.StringIO()
    view.print_failure()
    assert printed.getvalue().startswith("step 'ingest' failed; its last lines:")
    assert "max_quarantine_rate" in printed.getvalue()


def test_verbose_streams_everything_as_the_runner_prints_it(tmp_path, capsys):
    view, out = replay("run.log", tmp_path, verbose=True)
    assert out == ""
    streamed = capsys.readouterr().out
    assert streamed == (DATA / "run.log").read_text(encoding="utf-8")
    assert (tmp_path / "logs" / "finetune.log").is_file()


def test_on_a_terminal_the_steps_are_redrawn_in_place(tmp_path):
    _, out = replay("run.log", tmp_path, terminal=True)
    assert "\x1b[" in out, "cursor movement of the live display"
    final = out.rsplit("\x1b[2K", 1)[0]
    assert "notify-candidate" in final and "3000 rows, 13 quarantined" in final


def test_figures_of_an_unknown_or_malformed_output_are_blank():
    assert figures("unknown-op", {"Output": "{}"}) == ""
    assert figures("ingest-op", {"Output": "not json"}) == "? rows, ? quarantined"
    assert figures("eval-gate-op", {"Output": False}) == "FAILED"


def test_interrupting_stops_the_step_processes_of_the_run_but_not_servers_in_their_own_session():
    before = child_pids()
    earlier = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    step = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                             "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"])
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        for _ in range(100):
            if len(psutil.Process(step.pid).children()) == 1:
                break
            time.sleep(0.1)
        grandchild = psutil.Process(step.pid).children()[0].pid
        stopped = stop_step_processes(before | {earlier.pid}, grace_s=5)
        assert step.pid in stopped and grandchild in stopped
        assert server.pid not in stopped and earlier.pid not in stopped and not set(stopped) & before
        assert step.wait(5) is not None and server.poll() is None and earlier.poll() is None
        assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    finally:
        for proc in (server, earlier):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("path", ["/proc/tunepipe-data", "/sys/tunepipe-data"])
def test_a_data_dir_on_a_read_only_path_is_one_line_that_names_the_key(path):
    with pytest.raises(TunepipeError, match=rf"the data dir {path} is not writable .*set project\.data_dir"):
        writable(Path(path))


def test_a_writable_data_dir_is_created_and_left_clean(tmp_path):
    writable(tmp_path / "new" / "data")
    assert list((tmp_path / "new" / "data").iterdir()) == []


def test_a_taken_port_is_refused_with_the_option_to_change():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TunepipeError, match=rf"port {port} on 127\.0\.0\.1 is already in use .*--port"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)


def test_tunepipe_run_on_a_read_only_data_dir_is_one_line_before_any_step(tmp_path):
    from typer.testing import CliRunner

    from tunepipe.cli import app

    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "q", "output": "a"}\n')
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  paths: [{data}]\nproject:\n  data_dir: /proc/tunepipe-data\n")
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 1
    assert "the data dir /proc/tunepipe-data is not writable" in " ".join(result.output.split())
    assert "Traceback" not in result.output and "setup" not in rows(result.output)
    assert data.read_text() == '{"input": "q", "output": "a"}\n'
