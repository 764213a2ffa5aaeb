"""What a (scheduled) run does, decided from the data's content: "no change" or train.

A run on data whose content digest is approved under the current policy, and for which a registered
model version already carries that digest and this config's digest in its lineage tags, has nothing to
do: it ends "no change" with that version, before the approval gate, split, training, evaluation and
registration. Anything else goes on to the approval gate (stop: awaiting approval; wait: a bounded
poll), so a new digest is never a silent pass. `content_fingerprint` is the raw inputs' fingerprint
the data steps' cache keys on, computed at run time when no caller passed one (a scheduled run).
"""

from __future__ import annotations

import hashlib

from tunepipe import tracking
from tunepipe.config import Config, config_digest
from tunepipe.errors import TunepipeError

NO_CHANGE, TRAIN = "no change", "train"
DIGEST_TAG, CONFIG_TAG = "tunepipe.dataset_digest", "tunepipe.config_digest"


def registered_version(cfg: Config, digest: str, cfg_digest: str) -> dict | None:
    """The newest version of `registry.model_name` trained on `digest` with config `cfg_digest`, or None."""
    name = cfg.registry.model_name
    versions = tracking.client(cfg).search_model_versions(f"name = '{name}'")
    found = [v for v in versions if v.tags.get(DIGEST_TAG) == digest and v.tags.get(CONFIG_TAG) == cfg_digest]
    if not found:
        return None
    v = max(found, key=lambda mv: int(mv.version))
    return {"name": name, "version": str(v.version), "uri": f"models:/{name}/{v.version}",
            "aliases": list(getattr(v, "aliases", []) or []), "run_id": v.run_id}


def decide(cfg: Config, digest: str) -> dict:
    """{"status": "no change" | "train", "reason", ...}: the change decision for dataset `digest`."""
    from tunepipe.governance.approval import APPROVED, check, resolve_digest

    digest = resolve_digest(cfg, digest)
    state = check(cfg, digest).state
    out = {"digest": digest, "config_digest": config_digest(cfg), "approval": state}
    if not cfg.schedule.skip_unchanged:
        return {**out, "status": TRAIN, "reason": "schedule.skip_unchanged is false"}
    if state != APPROVED:
        return {**out, "status": TRAIN, "reason": f"dataset {digest[:12]} is {state}: it goes to the approval gate"}
    version = registered_version(cfg, digest, out["config_digest"])
    if version is None:
        return {**out, "status": TRAIN, "reason": f"dataset {digest[:12]} is approved, but no version of "
                f"{cfg.registry.model_name} was trained on it with config {out['config_digest']}"}
    return {**out, "status": NO_CHANGE, "version": version,
            "reason": f"dataset {digest[:12]} is approved and {version['name']} version {version['version']} "
                      "was trained on it with this config: nothing to train, evaluate or register"}


def content_fingerprint(paths: list[str]) -> str:
    """Fingerprint of the inputs' bytes: local paths as `pipelines.local.data_fingerprint`, object-store
    URIs by streaming every file under them through fsspec (a rewritten object is a new fingerprint)."""
    from tunepipe.pipelines.local import data_fingerprint

    local = [p for p in paths if "://" not in p]
    remote = sorted(p for p in paths if "://" in p)
    if not remote:
        return data_fingerprint(local)
    h = hashlib.sha256(data_fingerprint(local).encode() if local else b"")
    for uri in remote:
        _hash_remote(h, uri)
    return h.hexdigest()[:16]


def _hash_remote(h, uri: str) -> None:
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(uri)
        files = sorted(fs.find(root)) if fs.isdir(root) else [root]
        for name in files:
            h.update(f"{name}\n".encode())
            with fs.open(name, "rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    h.update(chunk)
    except (ImportError, ValueError, OSError) as err:
        raise TunepipeError(f"cannot read {uri} to fingerprint the data ({type(err).__name__}: {err}); check "
                            "data.paths and the object-store credentials of the pipeline's steps") from None


def decide_and_notify(cfg: Config, digest: str) -> dict:
    """`decide`, announcing the outcome on the webhook: a digest the gate will hold awaits approval."""
    from tunepipe.governance.approval import PENDING
    from tunepipe.scheduling import notify

    decision = decide(cfg, digest)
    if decision["status"] == NO_CHANGE:
        notify.no_change(cfg, decision["version"])
    elif cfg.approval.mode != "demo" and decision["approval"] == PENDING:
        notify.awaiting_approval(cfg, decision["digest"])
    return decision
