"""The rate limit of the pages customers open from emails (answer, comment, thanks, unsubscribe,
verdict): RATELIMIT_PUBLIC per page and address.

Per page, not one count across them: one customer's visit is several requests (the click, the
comment, the thanks page reloading itself while triage runs), and customers of one company often
share an address; a count per page lets as many of them answer as a count of clicks alone would.

These pages take a whole send's clicks within minutes, so the check is one counter increment in
Redis (a fixed window, through the `limits` library that Flask-Limiter itself stands on) without
Flask-Limiter's per-request bookkeeping around it: its pass before each request and its headers
after (together ~80 us of CPU, most of what the increment itself costs) and Flask-Login's remember-me
cookie check (which opens the session: these pages have none) do not run for them. Staff pages and
the API keep both. Redis out of reach never stops a customer from answering: counting moves to this
process's memory, and Redis is tried again every few seconds.
"""

from __future__ import annotations

import logging
import time
from functools import cache, partial, wraps

from flask import Blueprint, Flask, current_app, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from vocloop.extensions import limiter, login_manager

log = logging.getLogger(__name__)

NAMESPACE = "customer-pages"
RETRY_SHARED_SECONDS = 5.0
_COUNTED_HERE: set[str] = set()  # blueprints whose requests this module counts


class CustomerPageLimit:
    """Counts requests per page and address in the shared store (Redis in production), or in
    memory while that store is out of reach."""

    def __init__(self, storage_uri: str):
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if storage_uri.startswith("redis") else {}
        self.shared = FixedWindowRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True, **options))
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.shared_down_until = 0.0

    def check(self, limit: RateLimitItem, page: str, address: str) -> None:
        """Count this request; TooManyRequests (429, with Retry-After) past the limit."""
        counter = self._counter()
        try:
            allowed = counter.hit(limit, NAMESPACE, page, address)
        except StorageError as exc:
            log.warning("rate limit store out of reach (%s): counting in memory for %.0f s", exc,
                        RETRY_SHARED_SECONDS)
            self.shared_down_until = time.monotonic() + RETRY_SHARED_SECONDS
            counter = self.local
            allowed = counter.hit(limit, NAMESPACE, page, address)
        if not allowed:
            raise _refusal(counter, limit, page, address)

    def _counter(self) -> FixedWindowRateLimiter:
        return self.local if time.monotonic() < self.shared_down_until else self.shared


class TooManyFromAddress(TooManyRequests):
    """429 with Retry-After and the X-RateLimit-* headers of the window that is full."""

    description = "Too many requests from your address: please try again in a minute."

    def __init__(self, limit: RateLimitItem, reset_at: float):
        super().__init__(retry_after=max(1, int(reset_at - time.time()) + 1))
        self.window_headers = [("X-RateLimit-Limit", str(limit.amount)), ("X-RateLimit-Remaining", "0"),
                               ("X-RateLimit-Reset", str(int(reset_at)))]

    def get_headers(self, environ=None, scope=None):
        return [*super().get_headers(environ, scope), *self.window_headers]


def _refusal(counter: FixedWindowRateLimiter, limit: RateLimitItem, page: str,
             address: str) -> TooManyFromAddress:
    try:
        reset_at = counter.get_window_stats(limit, NAMESPACE, page, address).reset_time
    except StorageError:
        reset_at = time.time() + limit.get_expiry()
    return TooManyFromAddress(limit, reset_at)


@cache
def _parsed(setting: str) -> RateLimitItem:
    return parse(setting)


def limit_customer_pages(blueprint: Blueprint) -> None:
    """Every request to these pages counts against RATELIMIT_PUBLIC for its page and address."""
    _COUNTED_HERE.add(blueprint.name)

    @blueprint.before_request
    def count_request():
        config = current_app.config
        if not config.get("RATELIMIT_ENABLED", True):
            return
        current_app.extensions["vocloop_customer_page_limit"].check(
            _parsed(config["RATELIMIT_PUBLIC"]), request.endpoint or "unmatched", request.remote_addr or "unknown")


def init_app(app: Flask) -> None:
    """After Flask-Limiter and Flask-Login are bound to `app`: their hooks pass these pages by."""
    app.extensions["vocloop_customer_page_limit"] = CustomerPageLimit(app.config["RATELIMIT_STORAGE_URI"])
    staff_hooks = {limiter._check_request_limit, login_manager._update_remember_cookie}
    for hooks in (app.before_request_funcs.get(None, []), app.after_request_funcs.get(None, [])):
        hooks[:] = [_not_on_customer_pages(hook) if hook in staff_hooks or _is_limiter_headers(hook) else hook
                    for hook in hooks]


def _is_limiter_headers(hook) -> bool:
    return isinstance(hook, partial) and hook.args[:1] == (limiter,) and hook.func.__name__.endswith("inject_headers")


def _not_on_customer_pages(hook):
    """`hook` for every request but those of the pages counted here (an after-request hook gets the
    response, which then passes unchanged)."""

    @wraps(hook)
    def unless_customer_page(*response):
        if request.blueprint in _COUNTED_HERE:
            return response[0] if response else None
        return hook(*response)

    return unless_customer_page
