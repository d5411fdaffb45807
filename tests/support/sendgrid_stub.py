"""A local HTTP server that speaks SendGrid's v3 Mail Send API, for tests and benchmarks.

It checks what the real API checks first (bearer key, JSON shape, at most 1,000
personalizations), records every accepted request, and can be told to fail the next ones.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedEmail:
    to: str
    to_name: str | None
    from_email: str
    subject: str
    text: str
    html: str
    custom_args: dict
    message_id: str


class SendGridStub:
    def __init__(self, api_key: str = "SG.test-key"):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.rejected: list[tuple[int, str]] = []
        self._failures: deque[tuple[int, dict, str]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SendGridStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, payload = stub._handle(self.path, self.headers.get("Authorization", ""), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.rejected.clear()
            self._failures.clear()

    def fail_next(self, status: int, times: int = 1, headers: dict | None = None, message: str = "") -> None:
        with self._lock:
            for _ in range(times):
                self._failures.append((status, headers or {}, message or f"stub failure {status}"))

    def emails(self) -> list[ReceivedEmail]:
        with self._lock:
            requests = list(self.requests)
        received = []
        for request in requests:
            content = {part["type"]: part["value"] for part in request.get("content", [])}
            for personalization in request["personalizations"]:
                for to in personalization["to"]:
                    received.append(ReceivedEmail(
                        to=to["email"], to_name=to.get("name"), from_email=request["from"]["email"],
                        subject=personalization.get("subject", request.get("subject", "")),
                        text=content.get("text/plain", ""), html=content.get("text/html", ""),
                        custom_args={**request.get("custom_args", {}), **personalization.get("custom_args", {})},
                        message_id=request["_message_id"]))
        return received

    def _error(self, status: int, message: str) -> tuple[int, dict, bytes]:
        self.rejected.append((status, message))
        return status, {"Content-Type": "application/json"}, json.dumps(
            {"errors": [{"message": message, "field": None, "help": None}]}).encode()

    def _handle(self, path: str, authorization: str, body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            if path != "/v3/mail/send":
                return self._error(404, f"no route {path}")
            if authorization != f"Bearer {self.api_key}":
                return self._error(401, "The provided authorization grant is invalid, expired, or revoked")
            if self._failures:
                status, headers, message = self._failures.popleft()
                status_, _, payload = self._error(status, message)
                return status_, {"Content-Type": "application/json", **headers}, payload
            try:
                request = json.loads(body)
            except ValueError:
                return self._error(400, "Invalid JSON")
            problem = _validate(request)
            if problem:
                return self._error(400, problem)
            message_id = uuid.uuid4().hex[:22]
            request["_message_id"] = message_id
            self.requests.append(request)
            return 202, {"X-Message-Id": message_id}, b""


def _validate(request: dict) -> str | None:
    personalizations = request.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return "The personalizations field is required and must have at least one personalization."
    if len(personalizations) > 1000:
        return "The personalizations field is limited to 1000 personalizations per request."
    if not all(p.get("to") for p in personalizations):
        return "The to array is required for all personalization objects."
    if not (request.get("from") or {}).get("email"):
        return "The from object must be provided for every email send."
    if not request.get("subject") and not all(p.get("subject") for p in personalizations):
        return "The subject is required."
    if not request.get("content") and not request.get("template_id"):
        return "Unless a valid template_id is provided, the content parameter is required."
    return None
