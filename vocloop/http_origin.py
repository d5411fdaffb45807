"""Where a browser's form post comes from, as browsers themselves say it: the defence against
another site's page making a signed-in owner's (or a customer's) browser post.

Every page sends `Referrer-Policy: no-referrer` (survey links carry secrets), so the Referer header
that Flask-WTF's strict HTTPS check demands is never there; this check stands in for it. Browsers
send `Sec-Fetch-Site` on every request (and `Origin` on every cross-origin POST before that header
existed); anything but this site is refused. Requests from servers (RFC 8058 one-click
unsubscribe by a mail provider, API clients, webhooks) carry neither header and pass: they hold no
browser's ambient credentials to abuse. Staff forms keep their session-bound CSRF token as well.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Server-to-server endpoints: a bearer token or a signature authorizes them, not a browser.
SERVER_PATHS = ("/api/", "/webhooks/")
CROSS_SITE_REFUSAL = "This form can only be sent from its own page."


def own_origins() -> set[str]:
    """This host as the request reached it (behind trusted proxies: as the customer typed it), and
    VOCLOOP_BASE_URL's origin."""
    own = {request.host_url.rstrip("/")}
    base = urlsplit(current_app.config.get("VOCLOOP_BASE_URL") or "")
    if base.scheme and base.netloc:
        own.add(f"{base.scheme}://{base.netloc}")
    return own


def is_cross_site_post() -> bool:
    if request.method in SAFE_METHODS:
        return False
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is not None and origin not in own_origins()


def refuse_cross_site_posts() -> None:
    if request.path.startswith(SERVER_PATHS):
        return
    if is_cross_site_post():
        abort(403, description=CROSS_SITE_REFUSAL)


def init_app(app: Flask) -> None:
    # Flask-WTF's strict check compares the Referer with the host on HTTPS; with no-referrer pages
    # it refused every staff form behind TLS ("The referrer header is missing").
    app.config["WTF_CSRF_SSL_STRICT"] = False
    app.before_request(refuse_cross_site_posts)
