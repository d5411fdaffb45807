"""The weekly email for leads and admins: last week's headline figures against the week before, and
whether closing the loop pays (the next answers by how loops ended over the last 90 days, the
revenue at risk now and saved last week).

Sent once per person per week (the outbox key names the week), on the first clock run after Monday
00:00 UTC, to those who have not turned it off (Settings, or `weekly_digest` in the API); a lead's
figures cover their teams' items, an admin's everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import current_app, render_template
from sqlalchemy import select

from vocloop.accounts.models import User
from vocloop.extensions import db
from vocloop.items.permissions import visible_items_filter
from vocloop.mail import outbox
from vocloop.mail.models import Message
from vocloop.metrics import dashboard, effect, queries
from vocloop.metrics.period import Period

EFFECT_DAYS = 90  # next answers take weeks to come: one week's items would rarely show any


def last_week(now: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 UTC of the week before `now`'s week, and of `now`'s week."""
    end = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return end - timedelta(days=7), end


def send_weekly_digests(now: datetime) -> int:
    """Queue last week's digest for every active lead and admin who has not had it; how many were queued."""
    start, end = last_week(now)
    sent = 0
    people = db.session.scalars(select(User).where(User.active.is_(True), User.role.in_(("lead", "admin")),
                                                   User.weekly_digest.is_(True)).order_by(User.id)).all()
    for user in people:
        key = f"digest:metrics:{user.id}:{start.date()}"
        if db.session.scalar(select(Message.id).where(Message.idempotency_key == key)) is not None:
            continue
        scope = None if user.role == "admin" else visible_items_filter(user)
        context = dict(user=user, start=start, end=end, tiles=dashboard.headline(start, end, scope),
                       backlog=queries.backlog(now, scope), scoped=scope is not None,
                       effect=effect.loop_effect(end - timedelta(days=EFFECT_DAYS), end, scope),
                       revenue=effect.revenue_at_risk(start, end, now, scope),
                       url=f"{current_app.config['VOCLOOP_BASE_URL']}/metrics/?"
                           f"{urlencode(Period(start, end).query_args())}",
                       subject=f"Closing the loop: the week of {start:%d %b %Y}")
        outbox.queue_message(key=key, kind="notification", to_email=user.email, to_name=user.name,
                             subject=context["subject"], html=render_template("email/metrics_digest.html", **context),
                             text=render_template("email/metrics_digest.txt", **context))
        db.session.commit()  # each person's email on its own: one failure does not hold back the rest
        sent += 1
    return sent
