"""A local HTTP server that speaks SendGrid's v3 Mail Send API, for tests and benchmarks.

It checks what the real API checks first (bearer key, JSON shape, at most 1,000 personalizations,
content order, substitution size; an address starting with "invalid" stands for one SendGrid
rejects), records every accepted request, can be told to fail the next ones or to answer late, and
can post signed events back to an Event Webhook URL as SendGrid does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedEmail:
    to: str
    to_name: str | None
    from_email: str
    from_name: str | None
    subject: str
    text: str
    html: str
    custom_args: dict
    message_id: str
    headers: dict
    reply_to: str | None


class EventSigner:
    """SendGrid's side of the signed Event Webhook: an EC P-256 key pair made for the test."""

    def __init__(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp, "Content-Type": "application/json"}


class SendGridStub:
    def __init__(self, api_key: str = "SG.test-key"):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.rejected: list[tuple[int, str]] = []
        self._failures: deque[tuple[int, dict, str]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        # Seconds to wait after accepting a request before answering (to kill a relay in between).
        self.respond_delay = 0.0
        # Where to post signed "processed" events for each accepted recipient, like SendGrid does.
        self.event_url: str | None = None
        self.signer: EventSigner | None = None
        self.generation = 0
        # Fail by position: {3: 500, 5: 429} answers 500 to every 3rd Mail Send request and 429 to
        # every 5th (the first rule that divides the request's number wins).
        self.fail_every: dict[int, int] = {}
        self.calls = 0
        self.undelivered_events = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SendGridStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._server_class())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _server_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path != "/_stats":
                    self.send_error(404)
                    return
                with stub._lock:
                    stats = {"requests": len(stub.requests), "recipients": sum(
                        len(r["personalizations"]) for r in stub.requests), "rejected": len(stub.rejected)}
                payload = json.dumps(stats).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, payload = stub._handle(self.path, self.headers.get("Authorization", ""), body)
                if status == 202 and stub.respond_delay:
                    time.sleep(stub.respond_delay)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the relay was killed while waiting
                    pass

        return Handler

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.rejected.clear()
            self._failures.clear()
            self.fail_every, self.calls = {}, 0
        self.respond_delay, self.event_url, self.signer = 0.0, None, None
        self.generation += 1  # event posts still retrying for the previous test stop

    def post_events(self, events: list[dict], url: str | None = None, timestamp: int | None = None,
                    signer: EventSigner | None = None) -> int:
        """Deliver signed events to the app's webhook, as SendGrid does; the HTTP status."""
        body = json.dumps(events).encode()
        request = urllib.request.Request(url or self.event_url, data=body, method="POST",
                                         headers=(signer or self.signer).sign(body, timestamp))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _post_events_retrying(self, events: list[dict], attempts: int = 10, pause: float = 1.0) -> None:
        """Like SendGrid: an event post that fails (app restarting, refused, 5xx) is tried again later;
        to the webhook of the test that caused the send, never to the next test's."""
        generation, url, signer = self.generation, self.event_url, self.signer
        for _ in range(attempts):
            if self.generation != generation:
                return
            try:
                if self.post_events(events, url=url, signer=signer) < 500:
                    return
            except OSError:
                pass
            time.sleep(pause)
        self.undelivered_events += len(events)

    def processed_events(self, request: dict) -> list[dict]:
        """One "processed" event per recipient of an accepted request, carrying its custom_args."""
        now = int(time.time())
        return [{"event": "processed", "email": p["to"][0]["email"], "timestamp": now,
                 "sg_event_id": uuid.uuid4().hex, "sg_message_id": f"{request['_message_id']}.filter{i}",
                 **request.get("custom_args", {}), **p.get("custom_args", {})}
                for i, p in enumerate(request["personalizations"])]

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
                subs = personalization.get("substitutions", {})
                for to in personalization["to"]:
                    received.append(ReceivedEmail(
                        to=to["email"], to_name=to.get("name"), from_email=request["from"]["email"],
                        from_name=request["from"].get("name"),
                        subject=_substitute(personalization.get("subject", request.get("subject", "")), subs),
                        text=_substitute(content.get("text/plain", ""), subs),
                        html=_substitute(content.get("text/html", ""), subs),
                        custom_args={**request.get("custom_args", {}), **personalization.get("custom_args", {})},
                        message_id=request["_message_id"], headers=personalization.get("headers", {}),
                        reply_to=(request.get("reply_to") or {}).get("email")))
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
            self.calls += 1
            if self._failures:
                status, headers, message = self._failures.popleft()
                status_, _, payload = self._error(status, message)
                return status_, {"Content-Type": "application/json", **headers}, payload
            for every, status in self.fail_every.items():
                if self.calls % every == 0:
                    headers = {"X-RateLimit-Reset": str(int(time.time()) + 1)} if status == 429 else {}
                    status_, _, payload = self._error(status, "injected fault")
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
            if self.event_url and self.signer:
                events = self.processed_events(request)
                threading.Thread(target=self._post_events_retrying, args=(events,), daemon=True).start()
            return 202, {"X-Message-Id": message_id}, b""


def _substitute(text: str, substitutions: dict) -> str:
    for tag, value in substitutions.items():
        text = text.replace(tag, value)
    return text


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
    types = [part.get("type") for part in request.get("content", [])]
    if "text/plain" in types and types[0] != "text/plain":
        return "If present, text/plain content must be first, followed by any other content."
    for personalization in personalizations:
        for to in personalization["to"]:
            if "@" not in to.get("email", "") or to["email"].startswith("invalid"):
                return "Does not contain a valid address."
        size = sum(len(k) + len(v) for k, v in personalization.get("substitutions", {}).items())
        if size > 10000:
            return "The total size of your substitutions may not exceed 10000 bytes per personalization."
    return None


def main() -> None:
    """Serve on a port (0: any) and print the URL: for benchmarks, as a process of its own."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="SG.test-key")
    args = parser.parse_args()
    stub = SendGridStub(api_key=args.api_key)
    stub._server = ThreadingHTTPServer(("127.0.0.1", args.port), stub._server_class())
    print(stub.url, flush=True)
    stub._server.serve_forever()


if __name__ == "__main__":
    main()
