"""Browser tests' shared pieces: Debian's chromium driven by Playwright, and the app on a local port.

Skipped where chromium is not installed, unless VOCLOOP_REQUIRE_BROWSER=1 (CI sets it), where a
missing browser is a failure. Never a downloaded browser.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
# The browser plays a person: with a desktop Chrome's User-Agent, not headless Chrome's own (which
# vocloop.responses.scanners lists as a scanner's). A test playing a scanner sets its own.
PERSON_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                     "Safari/537.36")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-agent={PERSON_USER_AGENT}"]


def read_later(hours: float = 1) -> None:
    """The customers open their email a while after it was sent (a click at delivery is a sign of a
    mail scanner, and the page would ask "Is 8 your answer?")."""
    from datetime import timedelta

    from sqlalchemy import update

    from vocloop.db import utcnow
    from vocloop.extensions import db
    from vocloop.surveys.models import Invitation
    db.session.execute(update(Invitation).where(Invitation.sent_at.is_not(None))
                       .values(sent_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()


def require_chromium() -> None:
    if not CHROMIUM.exists() and os.environ.get("VOCLOOP_REQUIRE_BROWSER") != "1":
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser():
    require_chromium()
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield instance
        instance.close()
