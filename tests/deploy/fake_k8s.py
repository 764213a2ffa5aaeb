"""A fake Kubernetes API server on 127.0.0.1: create (POST), get, merge-patch (PATCH) of namespaced objects.

Enough of the REST conventions for the `kubernetes` client's typed and custom-object APIs: objects live
at <collection>/<name>, a second create answers 409 AlreadyExists, errors are `Status` objects.
No cluster runs here; only this API surface is faked, never the client.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def merge(target: dict, patch: dict) -> dict:
    """RFC 7386 merge patch (lists replaced), which is what strategic merge does for the fields we send."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class FakeKubernetes:
    def __init__(self, fail: dict[str, int] | None = None):
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.fail = fail or {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def api_client(self):
        from kubernetes import client

        conf = client.Configuration()
        conf.host = self.url
        return client.ApiClient(conf)

    def get(self, kind_path: str) -> dict | None:
        """The stored object at e.g. `/apis/apps/v1/namespaces/ns/deployments/name`."""
        return self.objects.get(kind_path)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, body: dict, code: int = 200):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str, message: str):
                self._reply({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                             "message": message, "code": code}, code)

            def _body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

            def _record(self) -> str:
                path = self.path.split("?", 1)[0]
                fake.requests.append((self.command, path, self.headers.get("Content-Type", "")))
                return path

            def do_GET(self):
                path = self._record()
                if path in fake.objects:
                    return self._reply(fake.objects[path])
                self._status(404, "NotFound", f"{path} not found")

            def do_POST(self):
                path, body = self._record(), self._body()
                if path in fake.fail:
                    return self._status(fake.fail[path], "Forbidden", "denied by the fake")
                key = f"{path}/{body['metadata']['name']}"
                if key in fake.objects:
                    return self._status(409, "AlreadyExists", f"{key} already exists")
                fake.objects[key] = body
                self._reply(body, 201)

            def do_PATCH(self):
                path, body = self._record(), self._body()
                if path not in fake.objects:
                    return self._status(404, "NotFound", f"{path} not found")
                fake.objects[path] = merge(fake.objects[path], body)
                self._reply(fake.objects[path])

        return Handler
