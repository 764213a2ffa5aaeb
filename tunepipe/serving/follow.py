"""Follow a registry alias: `tunepipe serve models:/NAME@champion` serves whatever `champion` points at.

A background thread polls the alias every `serving.alias_poll_s`. When it moves, the new version is
downloaded and loaded while the old one keeps serving; then the server swaps to it. Requests
already running on the old version finish there, new ones go to the new version, so no request
fails during the move. `/v1/models` and `/health` say which version is served.
"""

from __future__ import annotations

import logging
import re
import threading

from tunepipe import tracking
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

log = logging.getLogger("tunepipe.serving")

_ALIAS_URI = re.compile(r"models:/(?P<name>[^/@]+)@(?P<alias>[\w-]+)$")


def parse_alias_uri(model_uri: str) -> tuple[str, str] | None:
    """(NAME, ALIAS) for `models:/NAME@ALIAS`, else None."""
    match = _ALIAS_URI.match(model_uri)
    return (match["name"], match["alias"]) if match else None


class AliasFollower:
    """Keeps `service` on the version that `models:/name@alias` points at."""

    def __init__(self, cfg: Config, service, name: str, alias: str, poll_s: float | None = None):
        self.cfg, self.service, self.name, self.alias = cfg, service, name, alias
        self.poll_s = cfg.serving.alias_poll_s if poll_s is None else poll_s
        self._client = tracking.client(cfg)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def version(self) -> str:
        try:
            return str(self._client.get_model_version_by_alias(self.name, self.alias).version)
        except Exception as err:
            raise TunepipeError(
                f"models:/{self.name}@{self.alias} is not in the registry at {tracking.tracking_uri(self.cfg)} "
                f"({str(err)[:160]}); check registry.model_name and the alias"
            ) from None

    def check_once(self) -> bool:
        """Swap to the alias's version if it moved; True if a new version is now served."""
        from tunepipe.registry.register import download_model_dir

        version = self.version()
        if version == self.service.backend.version:
            return False
        log.info("models:/%s@%s moved to version %s; loading it", self.name, self.alias, version)
        model_dir = download_model_dir(self.cfg, f"models:/{self.name}/{version}")
        self.service.swap(self.service.load(model_dir, version))
        return True

    def start(self) -> "AliasFollower":
        self._thread = threading.Thread(target=self._run, name="tunepipe-alias", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check_once()
            except Exception:
                log.exception("following models:/%s@%s failed; still serving version %s, retrying in %.0f s",
                              self.name, self.alias, self.service.backend.version, self.poll_s)
