"""One-time links for people who sign in: password reset (1 hour) and invitations (7 days)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from vocloop.accounts.models import User, UserToken
from vocloop.accounts.service import MIN_PASSWORD_LENGTH, create_user, normalize_email
from vocloop.db import utcnow
from vocloop.errors import Gone, Invalid, NotFound
from vocloop.extensions import db
from vocloop.mail import outbox
from vocloop.security import hash_token, new_secret_token

LIFETIME = {"reset": timedelta(hours=1), "invite": timedelta(days=7)}


def _issue(user: User, purpose: str) -> str:
    token, token_hash = new_secret_token(32)
    db.session.add(UserToken(user_id=user.id, purpose=purpose, token_hash=token_hash,
                             expires_at=utcnow() + LIFETIME[purpose]))
    db.session.flush()
    return token


def _email(user: User, purpose: str, token: str, inviter: User | None = None) -> None:
    url = f"{current_app.config['VOCLOOP_BASE_URL']}/password/{token}"
    if purpose == "reset":
        subject = "Reset your vocloop password"
    else:
        subject = f"{inviter.name if inviter else 'Your team'} invited you to vocloop"
    hours = int(LIFETIME[purpose].total_seconds() // 3600)
    context = dict(user=user, url=url, inviter=inviter, subject=subject, hours=hours, purpose=purpose)
    outbox.queue_message(key=f"{purpose}:{hash_token(token)[:32]}", kind="notification", to_email=user.email,
                         to_name=user.name, subject=subject,
                         html=render_template("email/access_link.html", **context),
                         text=render_template("email/access_link.txt", **context))


def request_password_reset(email: str) -> None:
    """Queue a reset link when the address belongs to an active user; silent otherwise, so the
    form cannot be used to find out who has an account."""
    try:
        address = normalize_email(email)
    except Invalid:
        return
    user = db.session.scalar(select(User).where(User.email == address, User.active.is_(True)))
    if user is not None and _resets_in_the_last_hour(user) < RESETS_PER_HOUR:
        _email(user, "reset", _issue(user, "reset"))
    db.session.commit()


# A person asks for a link or two; the form's limit per address (RATELIMIT_LOGIN) let anyone with a few
# addresses fill one person's mailbox with links. Beyond this, the form answers as always and sends nothing
# (the newest of the links sent is good for its hour).
RESETS_PER_HOUR = 3


def _resets_in_the_last_hour(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(UserToken).where(
        UserToken.user_id == user.id, UserToken.purpose == "reset",
        UserToken.created_at > utcnow() - timedelta(hours=1)))


def invite(inviter: User, email: str, *, name: str, role: str, team: str | None) -> User:
    """Create the user without a password and email them a link to choose one."""
    user = create_user(email, role=role, name=name or None, team=team or None)
    _email(user, "invite", _issue(user, "invite"), inviter)
    db.session.commit()
    return user


def find_link(token: str) -> UserToken:
    link = db.session.scalar(select(UserToken).where(UserToken.token_hash == hash_token(token)))
    if link is None or not link.user.active:
        raise NotFound("This link is not valid.")
    if link.used_at is not None or link.expires_at <= utcnow():
        raise Gone("This link has expired or was already used; ask for a new one.")
    return link


def set_password_with(token: str, password: str, confirmation: str) -> User:
    link = find_link(token)
    if password != confirmation:
        raise Invalid("The two passwords differ.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    link.user.password_hash = generate_password_hash(password)
    # Every other open link of this person dies with this one.
    db.session.execute(update(UserToken).where(UserToken.user_id == link.user_id, UserToken.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return link.user
