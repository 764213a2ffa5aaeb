"""The interpreter kfp's local runner starts for a step when warm steps are on (see `warm.py`).

Hands this process's stdin/stdout/stderr, argv, environment and working directory to the fork server,
forwards SIGINT and SIGTERM to the forked step, and exits with the step's exit code. Without a server
it becomes the real interpreter. Standard library only, run with `python -S`: it must start in
milliseconds.
"""

import json
import os
import signal
import socket
import struct
import sys

SOCKET_ENV = "TUNEPIPE_WARM_SOCKET"


def _plain_python() -> None:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])


def _recv_int(sock: socket.socket) -> int:
    data = b""
    while len(data) < 4:
        chunk = sock.recv(4 - len(data))
        if not chunk:
            raise ConnectionError("the warm step server went away")
        data += chunk
    return struct.unpack("!i", data)[0]


def _hand_over(path: str) -> tuple[socket.socket, int]:
    """Pass this process's stdio, argv, environment and cwd to the server; the forked step's pid."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    request = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(sock, [struct.pack("!I", len(request))], [0, 1, 2])
    sock.sendall(request)
    return sock, _recv_int(sock)


def main() -> None:
    path = os.environ.get(SOCKET_ENV)
    if not path or not os.path.exists(path):
        _plain_python()
    try:
        sock, pid = _hand_over(path)
    except OSError:
        _plain_python()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    code = _recv_int(sock)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
