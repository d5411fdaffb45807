"""`flask --app vocloop check`: what is misconfigured or unhealthy, in words an operator can act on."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import select

from vocloop.accounts.models import User
from vocloop.extensions import db
from vocloop.ops.status import read_status


@dataclass(frozen=True)
class Finding:
    level: str  # ok, warning, error
    topic: str
    message: str


def run_checks() -> list[Finding]:
    config = current_app.config
    production = config["VOCLOOP_ENV"] == "production"
    findings: list[Finding] = []

    def add(level, topic, message):
        findings.append(Finding(level, topic, message))

    key = config.get("SENDGRID_API_KEY")
    if not key:
        add("error" if production else "warning", "SENDGRID_API_KEY",
            "not set: email stays in the local outbox and never reaches customers")
    elif not key.startswith("SG."):
        add("warning", "SENDGRID_API_KEY", "does not look like a SendGrid key (they start with 'SG.')")
    else:
        add("ok", "SENDGRID_API_KEY", f"set; sending through {config.get('SENDGRID_API_HOST') or 'api.sendgrid.com'}")
    if config.get("SENDGRID_WEBHOOK_PUBLIC_KEY"):
        add("ok", "SENDGRID_WEBHOOK_PUBLIC_KEY", "set and parses; signed events are verified")
    else:
        add("warning", "SENDGRID_WEBHOOK_PUBLIC_KEY", "not set: bounces, spam reports and unsubscribes from SendGrid "
            "are not received, and rows of a crashed relay are re-sent rather than settled by events")
    if bool(config.get("REPLY_DOMAIN")) != bool(config.get("INBOUND_PARSE_SECRET")):
        add("warning", "REPLY_DOMAIN", "REPLY_DOMAIN and INBOUND_PARSE_SECRET work together: set both or neither")
    elif config.get("REPLY_DOMAIN"):
        add("ok", "REPLY_DOMAIN", f"customer replies come back through reply+…@{config['REPLY_DOMAIN']}")
    base = urlparse(config["VOCLOOP_BASE_URL"])
    if base.hostname in ("127.0.0.1", "localhost") and production:
        add("error", "VOCLOOP_BASE_URL", "points at this machine: links in emails would not work for customers")
    else:
        add("ok", "VOCLOOP_BASE_URL", f"links in emails point at {config['VOCLOOP_BASE_URL']}")

    status = read_status()
    if not status.database_ok:
        add("error", "DATABASE_URL", f"the database does not answer ({status.database_error})")
    else:
        findings.extend(_database_findings())
    if status.redis_configured:
        add("ok" if status.redis_ok else "error", "REDIS_URL",
            "Redis answers" if status.redis_ok else f"Redis does not answer ({status.redis_error})")
    else:
        add("error" if production else "ok", "REDIS_URL", "not set: jobs run inside the web process")
    if status.database_ok and status.outbox_failed:
        add("warning", "outbox", f"{status.outbox_failed} emails failed for good; see their errors on the items")
    if status.database_ok and status.oldest_pending_seconds > 600:
        add("warning", "outbox", f"the oldest unsent email has waited {status.oldest_pending_seconds:.0f}s: "
            "are workers and the clock running?")
    return findings


def _database_findings() -> list[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    findings = []
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(script.get_heads())
    if current != heads:
        findings.append(Finding("error", "database", f"schema at {sorted(current) or 'nothing'}, code expects "
                                f"{sorted(heads)}: run `flask --app vocloop db upgrade`"))
    else:
        findings.append(Finding("ok", "database", f"reachable, schema at head ({', '.join(sorted(heads))})"))
    fallback = current_app.config.get("FALLBACK_OWNER_EMAIL")
    admin = db.session.scalar(select(User.id).where(User.role == "admin", User.active.is_(True)).limit(1))
    if fallback and db.session.scalar(select(User.id).where(User.email == fallback.lower(),
                                                            User.active.is_(True))) is None:
        findings.append(Finding("warning" if admin else "error", "FALLBACK_OWNER_EMAIL",
                                f"{fallback} is not an active user" + ("; the earliest admin takes unmatched items"
                                                                       if admin else "")))
    elif not fallback and admin is None:
        findings.append(Finding("error", "FALLBACK_OWNER_EMAIL", "no fallback owner and no active admin: feedback "
                                "that no rule matches would wait unowned (create an admin)"))
    else:
        findings.append(Finding("ok", "ownership", "a fallback owner exists for items no rule matches"))
    return findings
