"""Local TCP ports: refuse a taken one before a server spends time loading, with the option to change."""

from __future__ import annotations

import socket

from tunepipe.errors import TunepipeError


def check_port_free(host: str, port: int, option: str = "--port") -> None:
    """Raise a one-line error when another process already listens on `host:port`."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise TunepipeError(f"port {port} on {host} is already in use by another process ({err.strerror}): "
                                f"stop that process or pass {option} with a free port") from None
