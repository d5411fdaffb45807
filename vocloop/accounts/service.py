"""Users, teams and API tokens: creating them and checking who is who."""

from __future__ import annotations

from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from vocloop.accounts.models import ROLES, ApiToken, Team, User
from vocloop.db import utcnow
from vocloop.errors import Conflict, Forbidden, Invalid, NotFound
from vocloop.extensions import db
from vocloop.security import hash_token, new_secret_token

MIN_PASSWORD_LENGTH = 10
# Checked against when the email is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = generate_password_hash("vocloop-timing-equaliser")


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"Not a valid email address: {exc}") from None


def get_or_create_team(name: str) -> Team:
    name = name.strip()
    if not name:
        raise Invalid("A team needs a name.")
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
        db.session.flush()
    return team


def create_team(name: str, lead_id: int | None = None) -> Team:
    name = name.strip()
    if db.session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"A team named {name!r} already exists.")
    team = get_or_create_team(name)
    if lead_id is not None:
        set_team_lead(team, lead_id)
    db.session.commit()
    return team


def set_team_lead(team: Team, lead_id: int | None) -> None:
    """A team's lead must be an active lead or admin; they become a member too."""
    if lead_id is None:
        team.lead_id = None
        return
    lead = db.session.get(User, lead_id)
    if lead is None or not lead.active or lead.role not in ("lead", "admin"):
        raise Invalid("lead_id must be an active user with the role lead or admin.")
    team.lead_id = lead.id
    if lead not in team.members:
        team.members.append(lead)


def check_member_change(actor: User, team: Team, member: User) -> None:
    """Admins change any team; a lead only the teams they lead, and only owners in them. Membership
    is what item access follows, so a lead who could join another team, or add an admin or a lead
    to theirs, could see and take items that are not their team's."""
    if actor.role == "admin":
        return
    if actor.role != "lead" or team.lead_id != actor.id:
        raise Forbidden(f"Only an admin or the lead of {team.name} can change its members.")
    if member.role != "owner":
        raise Forbidden("A lead adds and removes owners only; an admin changes who leads and administers.")


def add_team_member(actor: User, team: Team, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise Invalid("Only an active user can join a team.")
    check_member_change(actor, team, user)
    if user not in team.members:
        team.members.append(user)
    db.session.commit()
    return user


def create_user(email: str, *, role: str, name: str | None = None, password: str | None = None,
                team: str | None = None) -> User:
    """Passwords are hashed with scrypt (memory-hard); a user without one cannot sign in yet."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with the email {email} already exists.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    user = User(email=email, role=role, name=(name or email.split("@")[0]).strip(),
                password_hash=generate_password_hash(password) if password else None)
    db.session.add(user)
    if team:
        team_obj = get_or_create_team(team)
        team_obj.members.append(user)
        if role == "lead" and team_obj.lead_id is None:
            db.session.flush()
            team_obj.lead_id = user.id
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def end_sessions(user: User) -> None:
    """Signing out: every session cookie of this user stops working, a copy kept elsewhere too
    (the cookie is signed, not stored, so the server forgets it by changing what it must carry)."""
    db.session.execute(update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1))
    db.session.commit()


TOKEN_SCOPES = ("read", "write", "admin")
MAX_TOKEN_DAYS = 3 * 366


NOTIFY_NEW_ITEMS = ("immediate", "digest", "off")  # an email per new item, one a day, none


def set_preferences(user: User, *, notify_new_items: str | None = None, weekly_digest: bool | None = None,
                    commit: bool = True) -> User:
    """How a person hears of new items, and (leads, admins) the weekly metrics email; None: unchanged.
    Page and API share this one write."""
    if notify_new_items is not None:
        if notify_new_items not in NOTIFY_NEW_ITEMS:
            raise Invalid(f"notify_new_items must be one of {', '.join(NOTIFY_NEW_ITEMS)}")
        user.notify_new_items = notify_new_items
    if weekly_digest is not None:
        user.weekly_digest = weekly_digest
    if commit:
        db.session.commit()
    return user


def reactivate_user(user: User) -> User:
    """Let a deactivated person sign in and be routed to again."""
    user.active = True
    db.session.commit()
    return user


def create_api_token(user: User, name: str = "", expires_at: datetime | None = None, scope: str = "write") -> str:
    """Return the token; only its hash is kept, so this is the one time anyone sees it.

    The admin scope is for admins only: a token never carries more than its user may do."""
    if scope not in TOKEN_SCOPES:
        raise Invalid(f"scope must be one of {', '.join(TOKEN_SCOPES)}")
    if scope == "admin" and user.role != "admin":
        raise Forbidden("Only admins can create a token with the admin scope.")
    if expires_at is not None and not utcnow() < expires_at <= utcnow() + timedelta(days=MAX_TOKEN_DAYS):
        raise Invalid("a token expires in the future, and within three years")
    token, token_hash = new_secret_token(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash, name=name.strip()[:120], expires_at=expires_at,
                            scope=scope))
    db.session.commit()
    return f"vl_{token}"


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """A user revokes their own tokens; an admin anyone's. Revoking twice changes nothing."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != "admin"):
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def token_for(token: str) -> ApiToken | None:
    """The live token record for a presented token (None: unknown, revoked, expired, or user inactive)."""
    if not token.startswith("vl_") or len(token) > 200:
        return None
    api_token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token[3:])))
    now = utcnow()
    if api_token is None or api_token.revoked_at is not None or (
            api_token.expires_at is not None and api_token.expires_at <= now):
        return None
    if not api_token.user.active:
        return None
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
        api_token.last_used_at = now
        db.session.commit()
    return api_token


def user_for_token(token: str) -> User | None:
    record = token_for(token)
    return record.user if record is not None else None
