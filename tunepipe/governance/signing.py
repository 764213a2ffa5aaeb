"""HMAC-SHA256 signatures on decision records, so a record written around tunepipe does not count.

The key comes from the environment only, never from config: `TUNEPIPE_DECISION_KEY` (the key
itself), or `TUNEPIPE_DECISION_KEY_FILE` (a file holding it, e.g. a Kubernetes secret mounted into
the pod). With a key set, every decision is signed and every decision read is verified; an unsigned
or wrongly signed record is refused. Without a key (a laptop demo) records are unsigned and a signed
record cannot be checked, which is refused too. The standard library's `hmac` is the implementation:
constant-time comparison, no extra dependency.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from tunepipe.errors import TunepipeError

KEY_ENV = "TUNEPIPE_DECISION_KEY"
KEY_FILE_ENV = "TUNEPIPE_DECISION_KEY_FILE"
FIELD = "signature"
SCHEME = "hmac-sha256:"


def signing_key() -> bytes | None:
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = os.environ.get(KEY_FILE_ENV)
    if not path:
        return None
    try:
        return Path(path).read_bytes().strip() or None
    except OSError as err:
        raise TunepipeError(f"cannot read the decision key {KEY_FILE_ENV}={path} ({err.strerror}): "
                            "mount the secret there or unset the variable") from None


def _mac(key: bytes, record: dict) -> str:
    body = json.dumps({k: v for k, v in record.items() if k != FIELD}, sort_keys=True, separators=(",", ":"))
    return SCHEME + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def sign(record: dict) -> dict:
    """The record with its `signature` (empty without a key)."""
    key = signing_key()
    return {**record, FIELD: _mac(key, record) if key else ""}


def verify(record: dict, what: str) -> None:
    """Raise, naming `what`, unless the record's signature matches the key (or both are absent)."""
    key, signature = signing_key(), record.get(FIELD) or ""
    if key is None and not signature:
        return
    if key is None:
        raise TunepipeError(f"{what} is signed but no decision key is set: set {KEY_ENV} (or {KEY_FILE_ENV}) "
                            "to the key the reviewers sign with")
    if not signature:
        raise TunepipeError(f"{what} is not signed: it was written outside tunepipe. Record a real decision "
                            "with the tunepipe command")
    if not hmac.compare_digest(signature, _mac(key, record)):
        raise TunepipeError(f"{what} has a signature that does not match its content: it was forged or edited. "
                            "Record a real decision with the tunepipe command")
