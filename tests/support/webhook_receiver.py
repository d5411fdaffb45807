"""A local HTTP server standing for a customer's webhook receiver: records every request and answers
with the status codes it is told to, in order (then 200)."""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, tls: tuple[Path, Path] | None = None):
        """tls: (certificate, key) files to serve https:// with. A 3xx answer carries `location`
        (a redirect); GETs are recorded too, as a client following a redirect may send one."""
        self.received: list[Received] = []
        self.answers: deque[int] = deque()
        self.location: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_port
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def events(self, event_type: str | None = None) -> list[dict]:
        return [r.event for r in self.received if event_type is None or r.event["type"] == event_type]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
