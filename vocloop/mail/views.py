"""Development only: the local outbox, so a newcomer can read every email the app sent. An admin's page:
it holds every email to every customer of every team, where an owner sees only their items' emails (on
the item's page)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from sqlalchemy import func, or_, select

from vocloop.accounts.access import only_for
from vocloop.extensions import db
from vocloop.mail.base import links_in_new_tab
from vocloop.mail.models import Message
from vocloop.mail.outbox import rendered

bp = Blueprint("dev_mail", __name__)
only_for(bp, "admin")
# The email runs no script and cannot touch this app; its links may still be followed by a click.
EMAIL_PREVIEW_POLICY = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox allow-popups "
                        "allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
                        "frame-ancestors 'self'")  # the outbox page frames it; nobody else may


PAGE_SIZE = 50


@bp.get("/outbox")
def outbox():
    """Newest first, by kind (the survey emails the README points to are one click away however
    many notices came after them), searchable by recipient or subject, in pages."""
    kind = request.args.get("kind") or None
    search = (request.args.get("q") or "").strip()[:200]
    before = request.args.get("before", "")
    query = select(Message).order_by(Message.id.desc())
    if kind:
        query = query.where(Message.kind == kind)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Message.to_email.ilike(pattern, escape="\\"),
                                Message.to_name.ilike(pattern, escape="\\"),
                                Message.subject.ilike(pattern, escape="\\")))
    if before.isdigit():
        query = query.where(Message.id < int(before))
    messages = list(db.session.scalars(query.limit(PAGE_SIZE + 1)))
    more = len(messages) > PAGE_SIZE
    messages = messages[:PAGE_SIZE]
    kinds = db.session.execute(select(Message.kind, func.count()).group_by(Message.kind).order_by(Message.kind)).all()
    older = {**request.args.to_dict(), "before": messages[-1].id} if more else None
    return render_template("mail/outbox.html", messages=messages, kinds=kinds, kind=kind, search=search,
                           older=older, total=sum(count for _, count in kinds))


@bp.get("/outbox/<int:message_id>")
def message(message_id: int):
    message = db.get_or_404(Message, message_id)
    return render_template("mail/message.html", message=message, content=rendered(message))


@bp.get("/outbox/<int:message_id>/html")
def message_html(message_id: int):
    """The email's HTML as the customer's mail client would show it (sandboxed in an iframe);
    its links open in a new tab, as they would from a mail client."""
    body = links_in_new_tab(rendered(db.get_or_404(Message, message_id)).html)
    return Response(body, mimetype="text/html", headers={"Content-Security-Policy": EMAIL_PREVIEW_POLICY,
                                                         "X-Frame-Options": "SAMEORIGIN"})
