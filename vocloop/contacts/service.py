"""Contacts and accounts: who we ask, and the company they speak for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vocloop.accounts.service import normalize_email
from vocloop.contacts.models import Account, Contact
from vocloop.errors import Conflict, Invalid
from vocloop.extensions import db


def get_or_create_account(name: str | None, external_id: str | None) -> Account | None:
    if not name and not external_id:
        return None
    account = None
    if external_id:
        account = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None and name:
        account = db.session.scalar(select(Account).where(Account.name == name, Account.external_id.is_(None)))
    if account is None:
        if not name:
            raise Invalid(f"No account with external_id {external_id!r}; give its name to create it.")
        account = Account(name=name, external_id=external_id)
        db.session.add(account)
        db.session.flush()
    return account


def create_contact(*, email: str, name: str = "", external_id: str | None = None,
                   account_name: str | None = None, account_external_id: str | None = None,
                   account_annual_value: int | None = None, attributes: dict[str, Any] | None = None) -> Contact:
    email = normalize_email(email)
    existing = db.session.scalar(select(Contact).where(Contact.email == email))
    if existing is not None:
        raise Conflict(f"A contact with the email {email} already exists (id {existing.id}).")
    if external_id and db.session.scalar(select(Contact.id).where(Contact.external_id == external_id)):
        raise Conflict(f"A contact with the external_id {external_id!r} already exists.")
    account = get_or_create_account(account_name, account_external_id)
    if account is not None and account_annual_value is not None:
        account.annual_value = account_annual_value
    contact = Contact(email=email, name=name.strip(), external_id=external_id or None, account=account,
                      attributes=attributes or {})
    db.session.add(contact)
    try:
        db.session.commit()
    except IntegrityError:  # created by a concurrent request between the check above and now
        db.session.rollback()
        raise Conflict(f"A contact with the email {email} or the external_id {external_id!r} already exists.") \
            from None
    return contact
