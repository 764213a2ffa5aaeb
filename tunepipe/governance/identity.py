"""Who is deciding: the authenticated MLflow user when the server runs `--app-name basic-auth`.

Credentials come from the environment only (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`,
which the MLflow client also sends). The server says who it authenticated (`/api/2.0/mlflow/users/current`);
a `--reviewer` that differs from that user is refused. Without authentication the reviewer is the name given.
"""

from __future__ import annotations

import functools
import os

from tunepipe.errors import TunepipeError

USER_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"


@functools.lru_cache(maxsize=16)
def _current_user(uri: str, username: str, password: str) -> str | None:
    import requests

    try:
        resp = requests.get(f"{uri.rstrip('/')}/api/2.0/mlflow/users/current", auth=(username, password), timeout=30)
    except requests.RequestException as err:
        raise TunepipeError(f"MLflow server {uri} is unreachable ({type(err).__name__}): start it or fix "
                            "mlflow.tracking_uri") from None
    if resp.status_code in (401, 403):
        raise TunepipeError(f"MLflow server {uri} rejected the credentials of {USER_ENV}={username}: "
                            f"set {PASSWORD_ENV} to that user's password")
    if resp.status_code != 200:
        return None
    return resp.json()["user"]["username"]


def authenticated_user(tracking_uri: str) -> str | None:
    """The user the tracking server authenticated, or None when it has no authentication."""
    username = os.environ.get(USER_ENV, "")
    if not tracking_uri.startswith(("http://", "https://")) or not username:
        return None
    return _current_user(tracking_uri, username, os.environ.get(PASSWORD_ENV, ""))


def resolve_reviewer(tracking_uri: str, reviewer: str | None, what: str) -> str:
    """The reviewer of a decision: the authenticated user (a differing name is refused), else the name given."""
    given = (reviewer or "").strip()
    user = authenticated_user(tracking_uri)
    if user is None:
        if not given:
            raise TunepipeError(f"{what} needs a named reviewer: pass --reviewer NAME")
        return given
    if given and given.casefold() != user.casefold():
        raise TunepipeError(f"--reviewer {given} is not who is logged in: MLflow authenticated you as {user}. "
                            f"Decide as yourself (--reviewer {user}, or leave it out)")
    return user
