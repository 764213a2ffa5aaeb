"""The append-only, hash-chained audit log of dataset decisions (JSON Lines).

Every approval, rejection, demo approval and approval-gate outcome appends one line: time, actor,
action, digest, policy version, note, the login that ran it, and `prev_sha256`, the SHA-256 of the
previous line's bytes (64 zeros on the first line). Lines are written with O_APPEND under an
exclusive `flock`, so concurrent writers never interleave or fork the chain. Editing, inserting,
reordering or deleting any line breaks the chain at the line after it, which `verify_audit_log`
reports; the hash of each decision's line is also stored in its MLflow decision record, so cutting
lines off the end shows up as decisions the log no longer holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from tunepipe.errors import TunepipeError

GENESIS = "0" * 64
FIELDS = ("time", "actor", "action", "digest", "policy_version", "note", "user", "prev_sha256")
_TAIL_BLOCK = 8192


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(fd: int) -> bytes:
    """The last non-empty line of the open file, read backwards in blocks."""
    end = os.lseek(fd, 0, os.SEEK_END)
    tail = b""
    pos = end
    while pos > 0:
        step = min(_TAIL_BLOCK, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        stripped = tail.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return tail.rstrip(b"\n")


@contextmanager
def _locked_append(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def append_entry(path: str | Path, *, actor: str, action: str, digest: str, policy_version: str,
                 note: str = "", user: str = "") -> dict:
    """Append one chained entry to the log at `path`; returns it with its own `sha256`."""
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "digest": digest, "policy_version": policy_version,
        "note": note or "", "user": user or "",
    }
    try:
        with _locked_append(Path(path)) as fd:
            last = _last_line(fd)
            entry["prev_sha256"] = line_hash(last) if last else GENESIS
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8")
            os.write(fd, line + b"\n")
    except OSError as err:
        raise TunepipeError(
            f"cannot append to the audit log {path} ({err.strerror}): nothing was recorded. Make it "
            "writable, or point approval.audit_log at a writable file on storage every reviewer shares"
        ) from None
    return {**entry, "sha256": line_hash(line)}


def read_entries(path: str | Path) -> list[dict]:
    """All entries, oldest first (no verification: see `verify_audit_log`)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def verify_audit_log(path: str | Path) -> dict:
    """Check the hash chain; returns {path, entries, head_sha256} or raises naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise TunepipeError(f"no audit log at {path}: nothing was recorded there yet, or it was deleted")
    prev = GENESIS
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        _check_line(path, number, line, prev)
        prev = line_hash(line)
    return {"path": str(path), "entries": len(lines), "head_sha256": prev}


def _check_line(path: Path, number: int, line: bytes, prev: str) -> None:
    where = f"audit log {path}, line {number}"
    try:
        entry = json.loads(line)
    except ValueError:
        raise TunepipeError(f"{where} is not a JSON entry: the log was edited or truncated") from None
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        raise TunepipeError(f"{where} does not have the audit fields {', '.join(FIELDS)}: the log was edited")
    if entry["prev_sha256"] != prev:
        before = "the start of the log" if number == 1 else f"line {number - 1}"
        raise TunepipeError(
            f"{where}: its prev_sha256 does not match {before}; a line before it was edited, inserted "
            "or deleted. Keep this file as evidence and compare it with the MLflow decision records"
        )
