"""A fake Kubeflow Pipelines API server on 127.0.0.1: the v2beta1 endpoints `kfp.Client` calls to submit,
and the recurring-run endpoints (create, list with a display_name filter, get, enable, disable, delete)."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

RECURRING = "/apis/v2beta1/recurringruns/"


class FakeKfp:
    def __init__(self):
        self.experiments: dict[str, dict] = {}
        self.runs: list[dict] = []
        self.recurring: dict[str, dict] = {}
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
                if url.path == "/apis/v2beta1/recurringruns":
                    flt = json.loads(parse_qs(url.query).get("filter", ["{}"])[0] or "{}")
                    names = [p.get("stringValue") for p in flt.get("predicates", [])]
                    found = [r for r in fake.recurring.values() if not names or r["display_name"] in names]
                    return self._reply({"recurringRuns": found, "total_size": len(found)})
                if url.path.startswith(RECURRING) and url.path[len(RECURRING):] in fake.recurring:
                    return self._reply(fake.recurring[url.path[len(RECURRING):]])
                self._reply({"error": "not found"}, 404)

            def do_DELETE(self):
                url = urlparse(self.path)
                fake.requests.append(("DELETE", url.path))
                if fake.recurring.pop(url.path[len(RECURRING):], None) is not None:
                    return self._reply({})
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
                if url.path == "/apis/v2beta1/recurringruns":
                    job = {**body, "recurring_run_id": str(uuid.uuid4()),
                           "status": "ENABLED" if body.get("mode") != "DISABLE" else "DISABLED"}
                    fake.recurring[job["recurring_run_id"]] = job
                    return self._reply(job)
                rid, _, action = url.path[len(RECURRING):].partition(":")
                if url.path.startswith(RECURRING) and rid in fake.recurring and action in ("enable", "disable"):
                    fake.recurring[rid]["status"] = "ENABLED" if action == "enable" else "DISABLED"
                    fake.recurring[rid]["mode"] = "ENABLE" if action == "enable" else "DISABLE"
                    return self._reply({})
                self._reply({"error": "not found"}, 404)

        return Handler
