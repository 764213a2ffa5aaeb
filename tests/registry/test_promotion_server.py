"""Promotion against a real `mlflow server` on 127.0.0.1: killed at each step, and with basic-auth on.

Two servers per module run (each start costs ~8 s): a plain one restarted after every kill, and one
started with `--app-name basic-auth`, its users and permissions created through the auth REST API.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tunepipe import tracking
from tunepipe.errors import TunepipeError
from tunepipe.governance import ledger
from tunepipe.governance.audit import read_entries
from tunepipe.registry import promotion
from tests.registry.test_promotion import make_version

ADMIN_PASSWORD = "admin-password-for-tests-only"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An `mlflow server` subprocess in its own process group, restartable on the same store."""

    def __init__(self, root, auth: bool = False):
        self.root, self.auth, self.port, self.proc = root, auth, _port(), None
        self.uri = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
               "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1"]
        if self.auth:
            ini = self.root / "auth.ini"
            ini.write_text(f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{self.root / 'auth.db'}\n"
                           f"admin_username = admin\nadmin_password = {ADMIN_PASSWORD}\n"
                           "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
            env.update(MLFLOW_AUTH_CONFIG_PATH=str(ini), MLFLOW_FLASK_SERVER_SECRET_KEY="tests-secret-key")
            cmd += ["--app-name", "basic-auth"]
        log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True, cwd=self.root)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.uri}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"mlflow server did not start: {(self.root / 'server.log').read_text()[-2000:]}")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    yield server
    server.kill()


def server_cfg(server, data_dir):
    from tunepipe.config import Config

    return Config.model_validate({"data": {"paths": ["x"]}, "project": {"data_dir": str(data_dir)},
                                  "mlflow": {"tracking_uri": server.uri}})


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("TUNEPIPE_DECISION_KEY", "server-test-key")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_a_promotion_killed_at_each_step_never_leaves_a_dangling_alias_and_a_rerun_finishes(plain, tmp_path):
    cfg, name = server_cfg(plain, tmp_path), "crashy"
    champion = None
    for step in ("audited", "tagged"):
        version = make_version(cfg, name, against=champion or "none", data=f"crash-{step}")
        promotion.STEP_HOOK = lambda at, step=step: plain.kill() if at == step else None
        try:
            with pytest.raises(Exception):
                promotion.promote(cfg, name, version, "bob", f"killed after {step}")
        finally:
            promotion.STEP_HOOK = None
        plain.start()
        client = tracking.client(cfg)
        assert promotion.champion_version(client, name, "champion") == champion
        assert promotion.current_champion(cfg, client, name)[0] == champion
        result = promotion.promote(cfg, name, version, "bob", f"rerun after {step}")
        assert promotion.champion_version(client, name, "champion") == version
        if step == "tagged":
            assert result["resumed"] and result["note"] == "killed after tagged"
        if step == "audited":
            assert "earlier attempt" in result["found"] and "stopped after its audit entry" in result["found"]
        champion = version
    steps = [e["action"] for e in read_entries(ledger.log_path(cfg)) if e.get("model") == name]
    assert steps == ["promote"] * 3 + ["promote-completed"]
    assert ledger.verify(cfg)["entries"] > len(steps)


def _admin(server, monkeypatch):
    """MLflow's own auth client (`mlflow.server.get_app_client`), signed in as the admin."""
    from mlflow.server import get_app_client

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
    return get_app_client("basic-auth", tracking_uri=server.uri)


def test_basic_auth_reviewer_is_the_login_and_a_reader_is_denied(tmp_path_factory, monkeypatch):
    server = Server(tmp_path_factory.mktemp("mlflow-auth"), auth=True)
    server.start()
    try:
        cfg, name = server_cfg(server, tmp_path_factory.mktemp("auth-data")), "guarded"
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
        version = make_version(cfg, name, approver="admin")
        review_exp = tracking.client(cfg).get_experiment_by_name(tracking.REVIEW_EXPERIMENT).experiment_id
        auth = _admin(server, monkeypatch)
        for user in ("alice", "reader"):
            auth.create_user(user, f"{user}-password-1234")
        auth.grant_user_permission("alice", "registered_model", name, "EDIT")
        auth.grant_user_permission("alice", "experiment", review_exp, "EDIT")
        before = len(read_entries(ledger.log_path(cfg)))

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "reader")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "reader-password-1234")
        with pytest.raises(TunepipeError, match="permission denied: reader may not promote .*nothing was changed"):
            promotion.promote(cfg, name, version, None, "let me")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "alice-password-1234")
        with pytest.raises(TunepipeError, match="--reviewer bob is not who is logged in: .*as alice"):
            promotion.promote(cfg, name, version, "bob", "as bob")
        client = tracking.client(cfg)
        assert promotion.champion_version(client, name, "champion") is None
        assert len(read_entries(ledger.log_path(cfg))) == before
        assert promotion.promote(cfg, name, version, None, "reviewed")["reviewer"] == "alice"
        assert client.get_model_version(name, version).tags[promotion.PROMOTED_BY] == "alice"
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
        with pytest.raises(TunepipeError, match="rejected the credentials of MLFLOW_TRACKING_USERNAME=alice"):
            promotion.rollback(cfg, name, None, "x")
    finally:
        server.kill()
