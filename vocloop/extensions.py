"""Extensions, created unbound; create_app() binds them to an app."""

from flask import has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from vocloop.db import Base

# Pages a customer opens from an email: a whole send's clicks land on them within minutes.
CUSTOMER_BLUEPRINTS = frozenset({"answers", "verify"})


class VocloopLimiter(Limiter):
    """X-RateLimit-* headers cost two more Redis round trips per request (remaining and reset): worth it
    for API clients pacing themselves, not on the customer pages, which get them (and Retry-After)
    only when a request is refused."""

    @property
    def current_limit(self):
        limit = super().current_limit
        if limit is not None and not limit.breached and has_request_context() \
                and request.blueprint in CUSTOMER_BLUEPRINTS:
            return None
        return limit


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = VocloopLimiter(key_func=get_remote_address, default_limits=[])
