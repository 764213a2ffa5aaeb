"""The live view of a local run: one line per step (state, elapsed time, key figures, cache hits), and
each step's full output in `DATA_DIR/logs/<run>/<step>.log`.

The kfp local runner prints everything (its own log lines and each step subprocess's output) to
`sys.stdout` from the thread that runs the pipeline. `LiveView` stands in for `sys.stdout` and
`sys.stderr` during the run, reads the runner's task lines to know which step a line belongs to,
writes the line to that step's log, and draws the steps with rich: redrawn in place on a terminal,
one printed line per finished step elsewhere (CI logs, `| tee`). With `verbose` every line is also
passed through as the runner prints it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTED = re.compile(r" - INFO - Executing task '([\w-]+)'")
FINISHED = re.compile(r" - (?:INFO|ERROR) - Task '([\w-]+)' finished with status (\w+)")
OUTPUT_VALUE = re.compile(r"^ {4}(\w+): (.*)$")
CACHED = re.compile(r" - INFO - Task ([\w-]+) cache hit \(key=(\w+)\)")
SKIPPED = re.compile(r" - INFO - Skipping (?:conditional )?task ([\w-]+)")
RULE = re.compile(r"^-{20,}$")
CLOCK = re.compile(r"^(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?")
TAIL_LINES = 15
MARKS = {"running": ("…", "yellow"), "done": ("✓", "green"), "cached": ("✓", "cyan"),
         "failed": ("✗", "bold red"), "skipped": ("–", "dim"), "stopped": ("■", "bold red")}


@dataclass
class Step:
    name: str
    log: Path
    state: str = "running"
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    figures: str = ""
    clock: float | None = None

    @property
    def label(self) -> str:
        return self.name.removesuffix("-op")

    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.monotonic() - self.started


def _clock(line: str) -> float | None:
    """Seconds since midnight of the runner's timestamp at the start of `line`."""
    m = CLOCK.match(line)
    if not m:
        return None
    h, mi, sec, ms = m.groups()
    return int(h) * 3600 + int(mi) * 60 + int(sec) + int(ms or 0) / 1000


def _number(summary: dict, *keys, default="?"):
    for key in keys:
        summary = summary.get(key, {}) if isinstance(summary, dict) else {}
    return summary if summary != {} else default


def _finetune(s: dict) -> str:
    loss = {k: _number(s, k) for k in ("first_train_loss", "train_loss", "val_loss_before", "val_loss")}
    loss = {k: f"{v:.3f}" if isinstance(v, float) else v for k, v in loss.items()}
    return (f"loss {loss['first_train_loss']} → {loss['train_loss']}, "
            f"val {loss['val_loss_before']} → {loss['val_loss']}, {_number(s, 'steps')} steps")


def _evaluate(s: dict) -> str:
    cand, base = _number(s, "metrics", "candidate", default={}), _number(s, "metrics", "base", default={})
    parts = [f"{m} {base[m]['value']:.3f} → {cand[m]['value']:.3f}" for m in ("loss", "rouge_l")
             if isinstance(cand.get(m, {}).get("value"), float) and isinstance(base.get(m, {}).get("value"), float)]
    return ", ".join(parts)


FIGURES: dict[str, Callable[[dict], str]] = {
    "ingest-op": lambda s: f"{_number(s, 'input_rows')} rows, {_number(s, 'quarantined')} quarantined",
    "clean-op": lambda s: f"kept {_number(s, 'kept')}, filtered {sum(_number(s, 'filtered', default={}).values())}",
    "dedup-op": lambda s: (f"kept {_number(s, 'kept')}, duplicates {_number(s, 'exact_duplicates')} exact + "
                           f"{_number(s, 'near_duplicates')} near"),
    "data-card-op": lambda s: f"digest {str(_number(s, 'digest'))[:12]}",
    "pii-op": lambda s: f"{_number(s, 'rows_with_pii')} of {_number(s, 'rows')} rows redacted",
    "review-op": lambda s: f"digest {str(_number(s, 'digest'))[:12]}, {_number(s, 'status')}",
    "change-op": lambda s: str(s.get("Output", "")),
    "approval-gate-op": lambda s: f"{s.get('decision') or s.get('status', '?')} by {_number(s, 'reviewer')}",
    "split-op": lambda s: (f"train {_number(s, 'train')}, validation {_number(s, 'validation')}, "
                           f"test {_number(s, 'test')}"),
    "finetune-op": _finetune,
    "evaluate-op": _evaluate,
    "eval-gate-op": lambda s: "passed" if s.get("Output") is True or s.get("Output") == "True" else "FAILED",
    "register-op": lambda s: f"version {_number(s, 'version')} @{_number(s, 'alias')}",
    "serve-smoke-op": lambda s: f"answered in {_number(s, 'seconds')} s" if "seconds" in s else "answered",
}


def figures(step: str, outputs: dict) -> str:
    """The step's key figures from its outputs (the stage summary JSON, or a plain value)."""
    summary = dict(outputs)
    for key in ("Output", "summary"):
        value = outputs.get(key)
        if isinstance(value, str) and value.startswith("{"):
            try:
                summary.update(json.loads(value))
            except ValueError:
                pass
    try:
        return FIGURES[step](summary) if step in FIGURES else ""
    except (AttributeError, KeyError, TypeError, ValueError):
        return ""


def _output_value(raw: str):
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1]
    return {"True": True, "False": False}.get(raw, raw)


class LiveView:
    """A text stream that routes the runner's output to per-step logs and draws one line per step."""

    def __init__(self, log_dir: Path, console: Console | None = None, cache_root: Path | None = None,
                 verbose: bool = False):
        self.log_dir, self.cache_root, self.verbose = Path(log_dir), cache_root, verbose
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.console = console
        self.steps: dict[str, Step] = {}
        self.current: Step | None = None
        self._files: dict[str, object] = {}
        self._outputs_of: str | None = None
        self._outputs: dict = {}
        self._partial = ""
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._saved: tuple = ()
        self._handler: logging.Handler | None = None
        self._root_handlers: list[logging.Handler] = []

    # the stream interface the runner writes to
    encoding = "utf-8"

    def write(self, text: str) -> int:
        with self._lock:
            if self.verbose and self._saved:
                self._saved[0].write(text)
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self.feed(line)
        return len(text)

    def flush(self) -> None:
        if self.verbose and self._saved:
            self._saved[0].flush()

    def isatty(self) -> bool:
        return False

    def feed(self, line: str) -> None:
        """One line of the runner's output: route it to its step's log and update the steps."""
        plain = ANSI.sub("", line)
        if m := STARTED.search(plain):
            self._start(m.group(1), _clock(plain))
        self._write_log(self.current.name if self.current else "pipeline", plain)
        self._read_outputs(plain)
        if m := FINISHED.search(plain):
            self._finish(m.group(1), "done" if m.group(2) == "SUCCESS" else "failed", _clock(plain))
        elif m := CACHED.search(plain):
            self._cached(m.group(1), m.group(2))
        elif m := SKIPPED.search(plain):
            self._skipped(m.group(1), upstream="upstream" in plain)

    def _start(self, name: str, clock: float | None) -> None:
        self._end_outputs()
        self.current = self.steps[name] = Step(name, self._log_path(name), clock=clock)
        self._refresh()

    def _finish(self, name: str, state: str, clock: float | None) -> None:
        step = self.steps.get(name) or self.steps.setdefault(name, Step(name, self._log_path(name)))
        by_clock = (clock - step.clock) % 86400 if clock is not None and step.clock is not None else None
        step.state, step.seconds = state, step.elapsed() if by_clock is None else by_clock
        if state == "failed":
            self._announce(step)
            self.current = None
        else:
            self._outputs_of, self._outputs = name, {}

    def _read_outputs(self, plain: str) -> None:
        if self._outputs_of is None:
            return
        if m := OUTPUT_VALUE.match(plain):
            self._outputs[m.group(1)] = _output_value(m.group(2))
        elif RULE.match(plain) or STARTED.search(plain):
            self._end_outputs()

    def _end_outputs(self) -> None:
        if self._outputs_of is None:
            return
        step = self.steps.get(self._outputs_of)
        if step is not None:
            step.figures = figures(step.name, self._outputs)
            self._announce(step)
        self._outputs_of, self.current = None, None

    def _cached(self, name: str, key: str) -> None:
        self._end_outputs()
        step = self.steps[name] = Step(name, self._log_path(name), state="cached", seconds=0.0)
        step.figures = figures(name, self._cached_outputs(key))
        self._write_log(name, f"cache hit (key={key}): outputs reused from an earlier run")
        self._announce(step)

    def _skipped(self, name: str, upstream: bool) -> None:
        self._end_outputs()
        step = self.steps[name] = Step(name, self._log_path(name), state="skipped", seconds=0.0)
        step.figures = "upstream failed" if upstream else "condition not met"
        self._announce(step)

    def _cached_outputs(self, key: str) -> dict:
        """The cached step's output parameters, from the kfp cache entry its key names."""
        if self.cache_root is None:
            return {}
        for entry in sorted(Path(self.cache_root).glob(f"{key}*.json"))[:1]:
            try:
                raw = json.loads(entry.read_text())
            except (OSError, ValueError):
                return {}
            return {k: v.get("value", v) if isinstance(v, dict) else v for k, v in raw.items()}
        return {}

    def _log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.removesuffix('-op')}.log"

    def _write_log(self, name: str, line: str) -> None:
        fh = self._files.get(name)
        if fh is None:
            fh = self._files[name] = self._log_path(name).open("a", encoding="utf-8")
        fh.write(line + "\n")

    # drawing
    def row(self, step: Step) -> Text:
        mark, style = MARKS[step.state]
        state = "cached" if step.state == "cached" else step.state
        elapsed = "" if step.state in ("cached", "skipped") else f"{step.elapsed():6.1f} s"
        return Text.assemble((f"{mark} ", style), (f"{step.label:<18}", "bold"), (f"{state:<8}", style),
                             f"{elapsed:>9}  ", step.figures)

    def table(self) -> Table:
        table = Table.grid()
        for step in list(self.steps.values()):
            table.add_row(self.row(step))
        return table

    def _announce(self, step: Step) -> None:
        if self._live is None and self.console is not None and not self.verbose:
            self.console.print(self.row(step), highlight=False, soft_wrap=True)
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.table(), refresh=True)

    def failure_tail(self, lines: int = TAIL_LINES) -> tuple[Step, list[str]] | None:
        """The failed step and the last lines of its own output (the runner's framing left out)."""
        failed = [s for s in self.steps.values() if s.state == "failed"] or \
                 [s for s in self.steps.values() if s.state == "running"]
        if not failed:
            return None
        step = failed[-1]
        text = step.log.read_text(encoding="utf-8", errors="replace").splitlines() if step.log.is_file() else []
        own = [t for t in text if t.strip() and not RULE.match(t) and " - INFO - " not in t and " - ERROR - " not in t]
        return step, own[-lines:]

    def stop_running(self) -> list[Step]:
        """Mark the steps still running as stopped (Ctrl-C) and show them."""
        running = [s for s in self.steps.values() if s.state == "running"]
        for step in running:
            step.state, step.seconds = "stopped", step.elapsed()
            self._announce(step)
        return running

    def print_failure(self, tail: bool = True) -> None:
        """The failed step's last lines, unless `verbose` already showed them (the error names its log)."""
        failed = self.failure_tail()
        if failed is None or self.console is None:
            return
        step, lines = failed
        if tail and not self.verbose:
            self.console.print(f"[bold red]step '{step.label}' failed[/]; its last lines:", highlight=False)
            for line in lines:
                self.console.print(Text(f"  {line.removeprefix('    ')}", style="dim"), soft_wrap=True)

    # installing and removing
    def __enter__(self) -> "LiveView":
        self._saved = (sys.stdout, sys.stderr)
        if self.console is None:
            self.console = Console(file=self._saved[0])
        if self.console.is_terminal and not self.verbose:
            self._live = Live(console=self.console, refresh_per_second=2, get_renderable=self.table,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        sys.stdout = sys.stderr = self
        root = logging.getLogger()
        self._root_handlers = root.handlers[:]
        self._handler = logging.StreamHandler(self)
        self._handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s", "%H:%M:%S"))
        root.handlers[:] = [self._handler]
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._partial:
                self.feed(self._partial)
                self._partial = ""
            self._end_outputs()
        logging.getLogger().handlers[:] = self._root_handlers
        sys.stdout, sys.stderr = self._saved
        if self._live is not None:
            self._live.stop()
        for fh in self._files.values():
            fh.close()
