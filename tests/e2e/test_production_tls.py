"""The README's deployment shape in a real browser: gunicorn with the Procfile's flags in production
mode, behind a TLS-terminating proxy (TRUSTED_PROXIES=1). Pages send no Referer (no-referrer), so a
Referer-based CSRF check would refuse every form here, as it once did."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, TEST_REDIS_URL
from tests.e2e.test_browser import sign_in
from tests.factories import make_user
from tests.support.certs import make_ca_and_server_cert
from tests.support.tls_proxy import TLSProxy

pytestmark = pytest.mark.skipif(not TEST_REDIS_URL, reason="production mode needs PostgreSQL and Redis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def production_behind_tls(app, settings, tmp_path):
    """gunicorn as the Procfile's web line starts it, and the proxy in front; yields the https URL."""
    port = free_port()
    _, cert, key = make_ca_and_server_cert(tmp_path, "localhost")
    proxy = TLSProxy(port, cert, key).start()
    base_url = f"https://localhost:{proxy.port}"
    web = next(line.split(":", 1)[1].strip() for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    env = {**os.environ, **{name: str(value) for name, value in settings.items()},
           "VOCLOOP_ENV": "production", "SECRET_KEY": "production-secret-" + "x" * 32, "VOCLOOP_BASE_URL": base_url,
           "PORT": str(port), "WEB_CONCURRENCY": "1", "TRUSTED_PROXIES": "1",
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(["bash", "-c", f"exec {web}"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()[-3000:]) from None
                time.sleep(0.3)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        proxy.stop()


def test_sign_in_and_a_staff_form_work_over_https_behind_the_proxy(app, browser, production_behind_tls):
    make_user("dana@example.com", name="Dana")
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    sign_in(page, production_behind_tls, "dana@example.com")
    assert page.url.startswith(f"{production_behind_tls}/inbox"), page.inner_text("body")[:300]
    cookie = next(c for c in context.cookies() if c["name"] == "session")
    assert cookie["secure"] and cookie["httpOnly"]

    page.get_by_role("navigation", name="Main").locator("summary").click()  # Settings is under "More"
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("one email a day").check()
    page.get_by_role("button", name="Save").click()
    assert "Settings saved." in page.inner_text("main")
    assert page.get_by_label("one email a day").is_checked()
    context.close()
