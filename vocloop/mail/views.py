"""Development only: the local outbox, so a newcomer can read every email the app sent."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import login_required
from sqlalchemy import select

from vocloop.extensions import db
from vocloop.mail.models import Message
from vocloop.mail.outbox import rendered

bp = Blueprint("dev_mail", __name__)
# The email runs no script and cannot touch this app; its links may still be followed by a click.
EMAIL_PREVIEW_POLICY = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox allow-popups "
                        "allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
                        "frame-ancestors 'self'")  # the outbox page frames it; nobody else may


@bp.get("/outbox")
@login_required
def outbox():
    messages = db.session.scalars(select(Message).order_by(Message.id.desc()).limit(200))
    return render_template("mail/outbox.html", messages=list(messages))


@bp.get("/outbox/<int:message_id>")
@login_required
def message(message_id: int):
    message = db.get_or_404(Message, message_id)
    return render_template("mail/message.html", message=message, content=rendered(message))


@bp.get("/outbox/<int:message_id>/html")
@login_required
def message_html(message_id: int):
    """The email's HTML as the customer's mail client would show it (sandboxed in an iframe);
    its links open in a new tab, as they would from a mail client."""
    body = rendered(db.get_or_404(Message, message_id)).html.replace("<head>", '<head><base target="_blank">', 1)
    return Response(body, mimetype="text/html", headers={"Content-Security-Policy": EMAIL_PREVIEW_POLICY,
                                                         "X-Frame-Options": "SAMEORIGIN"})
