"""Telling staff about items, by email and Slack: the owner of a new item (immediately or in a daily
digest, P1 always at once), whoever a routing rule says to "also notify" (a user, a team, a Slack
channel), and the emails services send about an item to its owner or a lead (a reply, a mention, an
SLA warning, a closing message that did not reach the customer)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlparse

from flask import current_app, render_template
from sqlalchemy import select

from vocloop import post_commit
from vocloop.accounts.models import Team, User
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail import outbox
from vocloop.mail.models import Message
from vocloop.outbound import service as webhooks
from vocloop.outbound import transport
from vocloop.routing.models import RoutingRule

log = logging.getLogger(__name__)
_SLACK_POSTS = "vocloop.slack_posts"


def notify_owner_of(item: FeedbackItem, *, key: str, subject: str, lines: list[str]) -> Message:
    """An email to the item's owner, through the outbox like every other email."""
    return notify_user(item.owner, item, key=key, subject=subject, lines=lines)


def notify_user(user: User, item: FeedbackItem, *, key: str, subject: str, lines: list[str]) -> Message:
    """An email about an item to a user (its owner, a lead), through the outbox; the key makes it once."""
    context = dict(owner=user, item=item, subject=subject, lines=lines,
                   item_url=f"{current_app.config['VOCLOOP_BASE_URL']}/inbox/items/{item.id}")
    return outbox.queue_message(key=key, kind="notification", to_email=user.email, to_name=user.name,
                                subject=subject, html=render_template("email/notification.html", **context),
                                text=render_template("email/notification.txt", **context), item_id=item.id)


def _summary(item: FeedbackItem) -> list[str]:
    response = item.response
    who = item.contact.name or item.contact.email
    return [f"{who} answered {response.score} to “{item.survey.name}” ({item.priority}).",
            response.comment or "(no comment)",
            f"Closing message due {item.close_due_at:%Y-%m-%d %H:%M} UTC."]


def notify_new_item(item: FeedbackItem) -> None:
    """Queue the emails and the Slack post a new item causes (in the caller's transaction)."""
    owner = item.owner
    if item.priority == "P1" or owner.notify_new_items == "immediate":
        notify_user(owner, item, key=f"notice:new-item:{item.id}",
                    subject=f"New {item.priority} item #{item.id} for you", lines=_summary(item))
    rule = db.session.get(RoutingRule, item.routing_rule_id) if item.routing_rule_id else None
    if rule is None:
        return
    if rule.notify_slack_url:  # posted once the item is committed: a triage that lost its race posts nothing
        post_commit.add(db.session, _SLACK_POSTS, [(item.id, rule.notify_slack_url)])
    others: dict[int, User] = {}
    if rule.notify_user_id:
        user = db.session.get(User, rule.notify_user_id)
        others[user.id] = user
    if rule.notify_team_id:
        team = db.session.get(Team, rule.notify_team_id)
        others.update((member.id, member) for member in team.members)
    for user in others.values():
        if user.active and user.id != owner.id:
            notify_user(user, item, key=f"notice:also:{item.id}:{user.id}",
                        subject=f"FYI: new {item.priority} item #{item.id} (owner {owner.name})",
                        lines=_summary(item))


def _mrkdwn(text: str) -> str:
    """Customer and staff words as Slack shows them, never as its markup: `<!channel>` or
    `<https://…|label>` in a comment must not ping a channel or hide a link (Slack's own escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def take_slack_posts() -> list[tuple[int, str]]:
    """(item id, webhook URL) of the Slack posts committed transactions of this session asked for."""
    return post_commit.take(db.session, _SLACK_POSTS)


def slack_text(item: FeedbackItem) -> str:
    url = f"{current_app.config['VOCLOOP_BASE_URL']}/inbox/items/{item.id}"
    return "\n".join([f"*New {item.priority} item #{item.id}* for {_mrkdwn(item.owner.name)}: <{url}|open it>",
                      *(_mrkdwn(line) for line in _summary(item)[:2])])


def post_to_slack(webhook_url: str, text: str) -> None:
    """One message to a Slack incoming webhook, through the guard outbound webhooks use (the URL is
    a lead's to set, so it must not reach the internal network or follow a redirect there). A
    refused address is logged and dropped (a retry would be refused too); a failed post raises so
    the job is retried."""
    if urlparse(webhook_url).scheme not in ("http", "https"):
        raise ValueError("a Slack webhook URL is http(s)")
    try:
        reply = webhooks.guarded_post(webhook_url, json.dumps({"text": text}).encode(),
                                      {"Content-Type": "application/json", "User-Agent": webhooks.USER_AGENT})
    except transport.Refused as exc:
        log.warning("Slack post refused: %s", exc)
        return
    if not 200 <= reply.status < 300:
        raise RuntimeError(f"Slack answered {reply.status}")


def send_digests(now: datetime) -> int:
    """Once a day per user who asked for a digest: one email listing their items opened since."""
    sent = 0
    for user in db.session.scalars(select(User).where(User.active.is_(True), User.notify_new_items == "digest")):
        if user.last_digest_at is not None and user.last_digest_at > now - timedelta(hours=24):
            continue
        since = user.last_digest_at or now - timedelta(hours=24)
        items = list(db.session.scalars(select(FeedbackItem).where(
            FeedbackItem.owner_id == user.id, FeedbackItem.status != "closed", FeedbackItem.created_at > since,
            FeedbackItem.priority != "P1").order_by(FeedbackItem.close_due_at)))
        user.last_digest_at = now
        if not items:
            continue
        base = current_app.config["VOCLOOP_BASE_URL"]
        context = dict(user=user, items=items, base=base, subject=f"{len(items)} new items for you")
        outbox.queue_message(key=f"notice:digest:{user.id}:{now:%Y-%m-%d}", kind="notification",
                             to_email=user.email, to_name=user.name, subject=context["subject"],
                             html=render_template("email/digest.html", **context),
                             text=render_template("email/digest.txt", **context))
        sent += 1
    db.session.commit()
    return sent
