"""A fake Kubeflow Pipelines API server on 127.0.0.1: the v2beta1 endpoints `kfp.Client` calls to submit."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeKfp:
    def __init__(self):
        self.experiments: dict[str, dict] = {}
        self.runs: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

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

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def do_GET(self):
                url = urlparse(self.path)
                fake.requests.append(("GET", url.path))
                if url.path == "/apis/v2beta1/healthz":
                    return self._reply({"multi_user": False})
                if url.path == "/apis/v2beta1/experiments":
                    flt = json.loads(parse_qs(url.query).get("filter", ["{}"])[0] or "{}")
                    names = [p.get("stringValue") for p in flt.get("predicates", [])]
                    found = [e for e in fake.experiments.values() if not names or e["display_name"] in names]
                    return self._reply({"experiments": found, "total_size": len(found)})
                self._reply({"error": "not found"}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                fake.requests.append(("POST", url.path))
                body = self._body()
                if url.path == "/apis/v2beta1/experiments":
                    exp = {**body, "experiment_id": str(uuid.uuid4())}
                    fake.experiments[exp["experiment_id"]] = exp
                    return self._reply(exp)
                if url.path == "/apis/v2beta1/runs":
                    run = {**body, "run_id": str(uuid.uuid4()), "state": "PENDING"}
                    fake.runs.append(run)
                    return self._reply(run)
                self._reply({"error": "not found"}, 404)

        return Handler
