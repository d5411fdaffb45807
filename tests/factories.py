"""Test data through the services, plus small helpers for the web forms."""

from __future__ import annotations

import re
from datetime import timedelta

from werkzeug.security import generate_password_hash

from vocloop.accounts import service as accounts
from vocloop.contacts import service as contacts
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.security import new_secret_token
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


# The factories' users get a cheap hash of PASSWORD: scrypt (what create_user stores) costs ~0.17 s to make and
# as much to check, and the suites make and sign in thousands of users (it was most of a test's own time). How
# production hashes passwords is tested through create_user itself (test_accounts, test_cli).
_CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_user(email: str, role: str = "owner", team: str | None = None, name: str | None = None):
    user = accounts.create_user(email, role=role, team=team, name=name)
    user.password_hash = _CHEAP_HASH
    db.session.commit()
    return user


def make_contact(email: str, name: str = "", account: str | None = None):
    return contacts.create_contact(email=email, name=name, account_name=account)


def make_survey(kind: str = "nps", **options):
    return surveys.create_survey(name=options.pop("name", f"{kind.upper()} survey"), kind=kind,
                                 company=options.pop("company", "Acme"), **options)


def make_invitation(survey, contact, expires_in_days: float = 30) -> str:
    """An invitation whose token the test knows (the real one is only ever in the email)."""
    token, token_hash = new_secret_token()
    db.session.add(Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=token_hash,
                              expires_at=utcnow() + timedelta(days=expires_in_days)))
    db.session.commit()
    return token


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def answer(client, token: str, score: int, comment: str = ""):
    """What a customer does: click a score in the email, then send the comment form."""
    page = client.get(f"/s/{token}?score={score}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/s/{token}", data={"score": str(score), "comment": comment})


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password})


def api_token(user, scope: str | None = None) -> dict:
    """A bearer header; by default with the widest scope the user may have."""
    scope = scope or ("admin" if user.role == "admin" else "write")
    return {"Authorization": f"Bearer {accounts.create_api_token(user, scope=scope)}"}
