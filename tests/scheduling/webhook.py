"""A Slack-style incoming webhook on 127.0.0.1 that records each JSON POST (optionally answering late)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook:
    def __init__(self, delay_s: float = 0.0, status: int = 200):
        self.messages: list[dict] = []
        self.delay_s, self.status = delay_s, status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/s3cr3tT0ken"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]

    def _handler(self):
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.messages.append(json.loads(body))
                time.sleep(hook.delay_s)
                try:
                    self.send_response(hook.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        return Handler
