"""The HTML side: blueprints, sign-in wiring, and the in-process scheduler of the embedded default."""

from __future__ import annotations

import hmac

from flask import Flask, redirect, url_for

from vocloop.extensions import db, login_manager


def init_app(app: Flask) -> None:
    from vocloop.accounts.models import User
    from vocloop.accounts.password_views import bp as password_bp
    from vocloop.accounts.people_views import bp as people_bp
    from vocloop.accounts.settings_views import bp as settings_bp
    from vocloop.accounts.team_views import bp as teams_bp
    from vocloop.accounts.views import bp as auth_bp
    from vocloop.announcements.views import bp as announcements_bp
    from vocloop.classify.correction_views import bp as corrections_bp
    from vocloop.classify.views import bp as topics_bp
    from vocloop.company.views import bp as company_bp
    from vocloop.contacts.views import bp as contacts_bp
    from vocloop.delivery.webhooks import bp as webhooks_bp
    from vocloop.inbox.views import bp as inbox_bp
    from vocloop.items.template_views import bp as closing_templates_bp
    from vocloop.mail.views import bp as dev_mail_bp
    from vocloop.metrics.views import bp as metrics_bp
    from vocloop.outbound.views import bp as outbound_bp
    from vocloop.responses import rate_limit as customer_page_limit
    from vocloop.responses.views import bp as answers_bp
    from vocloop.responses.views import verify_bp
    from vocloop.routing.views import bp as routing_bp
    from vocloop.surveys.views import bp as surveys_bp
    from vocloop.themes.views import bp as themes_bp

    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str):
        user_id, _, fingerprint = session_id.partition(".")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.active or not hmac.compare_digest(user.get_id(), session_id):
            return None  # unknown, deactivated, or the password changed since this session began
        return user

    customer_page_limit.init_app(app)
    app.register_blueprint(answers_bp, url_prefix="/s")
    app.register_blueprint(verify_bp, url_prefix="/v")
    app.register_blueprint(auth_bp)
    app.register_blueprint(inbox_bp, url_prefix="/inbox")
    app.register_blueprint(corrections_bp, url_prefix="/inbox/items")
    app.register_blueprint(metrics_bp, url_prefix="/metrics")
    app.register_blueprint(announcements_bp, url_prefix="/announcements")
    app.register_blueprint(routing_bp, url_prefix="/routing")
    app.register_blueprint(topics_bp, url_prefix="/topics")
    app.register_blueprint(themes_bp, url_prefix="/themes")
    app.register_blueprint(closing_templates_bp, url_prefix="/templates")
    app.register_blueprint(surveys_bp, url_prefix="/surveys")
    app.register_blueprint(contacts_bp, url_prefix="/contacts")
    app.register_blueprint(settings_bp, url_prefix="/settings")
    app.register_blueprint(password_bp, url_prefix="/password")
    app.register_blueprint(people_bp, url_prefix="/people")
    app.register_blueprint(teams_bp, url_prefix="/teams")
    app.register_blueprint(company_bp, url_prefix="/company")
    app.register_blueprint(outbound_bp, url_prefix="/integrations/webhooks")
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    if app.config["VOCLOOP_ENV"] != "production":
        app.register_blueprint(dev_mail_bp, url_prefix="/dev")

    @app.get("/")
    def home():
        return redirect(url_for("inbox.index"))

    @app.context_processor
    def template_globals():
        from vocloop.db import utcnow
        return {"now": utcnow()}

    @app.template_global()
    def company_brand():
        """The company's brand for a public page that was given none (an error before sign-in)."""
        from vocloop.company import service as company
        return company.brand(None, company.cached_profile())

    @app.template_filter("dict_without")
    def dict_without(mapping: dict, *keys: str) -> dict:
        return {key: value for key, value in mapping.items() if key not in keys}

    @app.template_global()
    def sentiment_words(label, polarity):
        from vocloop.inbox.words import sentiment_words as words
        return words(label, polarity)

    @app.template_global()
    def score_text(score, kind_code):
        from vocloop.inbox.words import score_text as words
        return words(score, kind_code)

    @app.template_global()
    def confidence_words(confidence):
        from vocloop.inbox.words import confidence_words as words
        return words(confidence)

    @app.template_global()
    def event_title(kind, data):
        from vocloop.inbox.words import event_title as words
        return words(kind, data)

    @app.template_filter("ago")
    def ago(when):
        """<time> reading '3 hours ago', the exact UTC time on hover (vocloop/inbox/words.py)."""
        from vocloop.db import utcnow
        from vocloop.inbox.words import time_tag
        return time_tag(when, utcnow())

    @app.template_filter("countdown")
    def countdown(due):
        """'due in 5 h' or 'overdue by 2 d', from now (UTC)."""
        from vocloop.db import utcnow
        seconds = (due - utcnow()).total_seconds()
        hours = abs(seconds) / 3600
        amount = f"{hours / 24:.0f} d" if hours >= 48 else f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"
        return f"due in {amount}" if seconds >= 0 else f"overdue by {amount}"

    defaults = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
                ("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; "  # https: survey logos
                 "style-src 'self' 'unsafe-inline'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'"),
                # Pages and API answers carry people's names, customers' words, tokens: no copy in a shared
                # or browser cache (the back button after signing out shows nothing).
                ("Cache-Control", "no-store")]
    if app.config["VOCLOOP_ENV"] == "production":  # served over https only (VOCLOOP_BASE_URL is https there)
        defaults.append(("Strict-Transport-Security", "max-age=31536000"))  # this host only
    defaults = [(name.lower(), name, value) for name, value in defaults]

    @app.after_request
    def security_headers(response):
        """Headers every answer carries unless its view set its own (the email preview may be framed
        by the outbox page; static files are cacheable). Added in one pass over the headers present:
        a setdefault per header raised and caught a KeyError for each one missing (~20 us a request)."""
        present = {name.lower() for name, _ in response.headers}
        response.headers.extend([(name, value) for key, name, value in defaults if key not in present])
        return response

    if app.config["JOBS_INLINE"] and app.config.get("INLINE_SCHEDULER"):
        started = []

        @app.before_request
        def start_scheduler_once():
            if not started:
                from vocloop.jobs.schedule import start_inline_scheduler
                started.append(start_inline_scheduler(app))
