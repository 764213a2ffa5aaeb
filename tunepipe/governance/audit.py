"""The append-only, hash-chained audit log of governance decisions (JSON Lines).

Every dataset approval, rejection, demo approval and approval-gate outcome, and every model promotion,
rollback and refused promotion, appends one line: time, actor, action, digest, policy version, note,
the login that ran it, `prev_sha256` (the SHA-256 of the previous line's bytes; 64 zeros on the first
line) and, for registry decisions, `model` and `version`. Lines are written with O_APPEND under an
exclusive `flock`, so concurrent writers never interleave or fork the chain; `locked` holds that lock
across a whole decision (a promotion checks and moves the alias under it). Editing, inserting,
reordering or deleting any line breaks the chain at the line after it. Cutting lines off the end, or
rewriting the whole log with a recomputed chain, is caught by the anchor: after every append the
entry count and head hash (signed when a decision key is set) are written outside the log, as a tag
of the review experiment in MLflow (`tunepipe.governance.anchor`), and `verify_audit_log` compares them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tunepipe.errors import TunepipeError

GENESIS = "0" * 64
FIELDS = ("time", "actor", "action", "digest", "policy_version", "note", "user", "prev_sha256")
REGISTRY_FIELDS = ("model", "version")
_TAIL_BLOCK = 8192

Anchor = Callable[[int, str], None]


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


def _count_lines(fd: int) -> int:
    size = os.lseek(fd, 0, os.SEEK_END)
    return os.pread(fd, size, 0).rstrip(b"\n").count(b"\n") + 1 if size else 0


class Writer:
    """Appends to a log whose exclusive lock the caller holds (see `locked`)."""

    def __init__(self, path: Path, fd: int, anchor: Anchor | None):
        self.path, self.fd, self.anchor = path, fd, anchor

    def append(self, *, actor: str, action: str, digest: str, policy_version: str, note: str = "",
               user: str = "", model: str = "", version: str = "") -> dict:
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "actor": actor, "action": action, "digest": digest, "policy_version": policy_version,
            "note": note or "", "user": user or "",
        }
        if model:
            entry.update(model=model, version=str(version))
        last = _last_line(self.fd)
        entry["prev_sha256"] = line_hash(last) if last else GENESIS
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8")
        try:
            os.write(self.fd, line + b"\n")
        except OSError as err:
            raise _unwritable(self.path, err) from None
        sha = line_hash(line)
        if self.anchor is not None:
            self.anchor(_count_lines(self.fd), sha)
        return {**entry, "sha256": sha}


def _unwritable(path, err: OSError) -> TunepipeError:
    return TunepipeError(
        f"cannot append to the audit log {path} ({err.strerror}): nothing was recorded. Make it "
        "writable, or point approval.audit_log at a writable file on storage every reviewer shares"
    )


@contextmanager
def locked(path: str | Path, anchor: Anchor | None = None):
    """Hold the log's exclusive lock; yields a `Writer`. Other writers wait until the block ends."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    except OSError as err:
        raise _unwritable(path, err) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield Writer(path, fd, anchor)
    finally:
        os.close(fd)


def append_entry(path: str | Path, *, anchor: Anchor | None = None, **fields) -> dict:
    """Append one chained entry to the log at `path`; returns it with its own `sha256`."""
    with locked(path, anchor) as writer:
        return writer.append(**fields)


def read_entries(path: str | Path) -> list[dict]:
    """All entries, oldest first, each with its `sha256` (no verification: see `verify_audit_log`)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [{**json.loads(line), "sha256": line_hash(line)} for line in path.read_bytes().splitlines()
            if line.strip()]


def verify_audit_log(path: str | Path, anchor: tuple[int, str] | None = None) -> dict:
    """Check the hash chain (and the anchor: entry count, head hash); returns {path, entries, head_sha256}.

    Raises naming the first bad line, or the anchor the log no longer reaches.
    """
    path = Path(path)
    if not path.is_file():
        raise TunepipeError(f"no audit log at {path}: nothing was recorded there yet, or it was deleted")
    prev, hashes = GENESIS, []
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        _check_line(path, number, line, prev)
        prev = line_hash(line)
        hashes.append(prev)
    if anchor is not None:
        _check_anchor(path, hashes, *anchor)
    return {"path": str(path), "entries": len(lines), "head_sha256": prev, "hashes": hashes}


def _check_anchor(path: Path, hashes: list[str], entries: int, head: str) -> None:
    if len(hashes) < entries:
        raise TunepipeError(
            f"audit log {path} has {len(hashes)} entries but its anchor records {entries} (head {head[:12]}): "
            "the log was truncated. Keep this file as evidence and restore the log from a backup"
        )
    if hashes[entries - 1] != head:
        raise TunepipeError(
            f"audit log {path}: entry {entries} does not hash to the anchored head {head[:12]}: the log was "
            "rewritten (its chain recomputed). Keep this file as evidence and restore the log from a backup"
        )


def _check_line(path: Path, number: int, line: bytes, prev: str) -> None:
    where = f"audit log {path}, line {number}"
    try:
        entry = json.loads(line)
    except ValueError:
        raise TunepipeError(f"{where} is not a JSON entry: the log was edited or truncated") from None
    if not isinstance(entry, dict) or set(entry) not in (set(FIELDS), set(FIELDS + REGISTRY_FIELDS)):
        raise TunepipeError(f"{where} does not have the audit fields {', '.join(FIELDS)}: the log was edited")
    if entry["prev_sha256"] != prev:
        before = "the start of the log" if number == 1 else f"line {number - 1}"
        raise TunepipeError(
            f"{where}: its prev_sha256 does not match {before}; a line before it was edited, inserted "
            "or deleted. Keep this file as evidence and compare it with the MLflow decision records"
        )
