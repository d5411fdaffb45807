"""Contacts and accounts: who we ask, and the company they speak for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from vocloop.accounts.models import User
from vocloop.accounts.service import normalize_email
from vocloop.contacts.models import Account, Contact
from vocloop.errors import Conflict, DomainError, Invalid
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


ACCOUNT_FIELDS = ("name", "external_id", "owner_id", "annual_value")


def save_account(account: Account | None, **values: Any) -> Account:
    """Create (account None) or update an account from the API; the owner must be an active user,
    and an external id names one account only."""
    if account is None and not values.get("name"):
        raise Invalid("An account needs a name.")
    owner_id = values.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(User, owner_id)
        if owner is None or not owner.active:
            raise Invalid("owner_id must be an active user.")
    external_id = values.get("external_id")
    if external_id and db.session.scalar(select(Account.id).where(
            Account.external_id == external_id, Account.id != (account.id if account else 0))):
        raise Conflict(f"An account with the external_id {external_id!r} already exists.")
    if account is None:
        account = Account()
        db.session.add(account)
    for name in ACCOUNT_FIELDS:
        if name in values:
            setattr(account, name, (values[name] or None) if name == "external_id" else values[name])
    try:
        db.session.commit()
    except IntegrityError:  # the same external id created by a concurrent request
        db.session.rollback()
        raise Conflict(f"An account with the external_id {external_id!r} already exists.") from None
    return account


_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


def checked_language(language: str | None) -> str | None:
    """A language tag as CRMs write it ("de", "fr-CA", "PT_br"), kept even where vocloop ships no
    catalog yet (the survey's language is used meanwhile); None for empty."""
    tag = (language or "").strip().replace("_", "-").lower()
    if not tag:
        return None
    if len(tag) > 10 or not _LANGUAGE_TAG.match(tag):
        raise Invalid(f"language must be a language code like de or fr-CA, not {language[:20]!r}.")
    return tag


def checked_first_name(first_name: str | None) -> str | None:
    first_name = " ".join((first_name or "").split())
    if len(first_name) > 100:
        raise Invalid("first_name has at most 100 characters.")
    return first_name or None


def create_contact(*, email: str, name: str = "", first_name: str | None = None, language: str | None = None,
                   external_id: str | None = None, account_name: str | None = None,
                   account_external_id: str | None = None, account_annual_value: int | None = None,
                   attributes: dict[str, Any] | None = None) -> Contact:
    email = normalize_email(email)
    first_name, language = checked_first_name(first_name), checked_language(language)
    existing = db.session.scalar(select(Contact).where(Contact.email == email))
    if existing is not None:
        raise Conflict(f"A contact with the email {email} already exists (id {existing.id}).")
    if external_id and db.session.scalar(select(Contact.id).where(Contact.external_id == external_id)):
        raise Conflict(f"A contact with the external_id {external_id!r} already exists.")
    account = get_or_create_account(account_name, account_external_id)
    if account is not None and account_annual_value is not None:
        account.annual_value = account_annual_value
    contact = Contact(email=email, name=name.strip(), first_name=first_name, language=language,
                      external_id=external_id or None, account=account, attributes=attributes or {})
    db.session.add(contact)
    try:
        db.session.commit()
    except IntegrityError:  # created by a concurrent request between the check above and now
        db.session.rollback()
        raise Conflict(f"A contact with the email {email} or the external_id {external_id!r} already exists.") \
            from None
    return contact


NAMING_FIELDS = ("name", "first_name", "language")


def update_contact(contact: Contact, *, name: str | None = None, first_name: str | None = None,
                   language: str | None = None) -> Contact:
    """How emails address a contact (its contact page): name, first name and language."""
    name = " ".join((name or "").split())
    if len(name) > 200:
        raise Invalid("name has at most 200 characters.")
    contact.name, contact.first_name, contact.language = name, checked_first_name(first_name), \
        checked_language(language)
    db.session.commit()
    return contact


MAX_BULK = 1000


@dataclass
class UpsertReport:
    """Per row, in the order given: created, updated, unchanged or rejected (with the reason)."""

    rows: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {status: sum(row["status"] == status for row in self.rows)
                for status in ("created", "updated", "unchanged", "rejected")}


def upsert_contacts(rows: list[dict | str]) -> UpsertReport:
    """Create or update contacts by external_id, else by email; a bad row is reported with its reason
    and the others are kept. A row given as a string is already rejected (its reason).

    Fast path: the batch's contacts and accounts are read in a few queries, every row is checked
    in memory (unique emails and external ids included) and written in one flush. If that flush
    still meets a conflict (another writer at the same moment), the batch is redone row by row,
    each on its own savepoint.

    Never touches consent: an unsubscribed or bounced contact stays so, whatever the CRM sends.
    """
    if len(rows) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} contacts per call")
    try:
        report = _upsert_batch(rows)
        db.session.commit()
        return report
    except IntegrityError:
        db.session.rollback()
    return _upsert_one_by_one(rows)


class _Batch:
    """The rows' existing contacts and accounts, read at once, and kept current while rows apply."""

    def __init__(self, rows: list[dict]):
        emails = {row["email"] for row in rows}
        external_ids = {row["external_id"] for row in rows if row.get("external_id")}
        contacts = list(db.session.scalars(select(Contact).where(Contact.email.in_(emails))))
        if external_ids:
            contacts += db.session.scalars(select(Contact).where(Contact.external_id.in_(external_ids)))
        self.by_email = {contact.email: contact for contact in contacts}
        self.by_external = {contact.external_id: contact for contact in contacts if contact.external_id}
        account_ids = {row["account_external_id"] for row in rows if row.get("account_external_id")}
        account_names = {row["account_name"] for row in rows if row.get("account_name")}
        self.accounts_by_external = {account.external_id: account for account in db.session.scalars(
            select(Account).where(Account.external_id.in_(account_ids)))} if account_ids else {}
        self.accounts_by_name = {account.name: account for account in db.session.scalars(
            select(Account).where(Account.name.in_(account_names), Account.external_id.is_(None)))} \
            if account_names else {}

    def account(self, name: str | None, external_id: str | None) -> Account | None:
        """As get_or_create_account, from what was read (new accounts join the maps)."""
        if not name and not external_id:
            return None
        account = self.accounts_by_external.get(external_id) if external_id else None
        if account is None and name:
            account = self.accounts_by_name.get(name)
        if account is None:
            if not name:
                raise Invalid(f"No account with external_id {external_id!r}; give its name to create it.")
            account = Account(name=name, external_id=external_id)
            db.session.add(account)
            if external_id:
                self.accounts_by_external[external_id] = account
            else:
                self.accounts_by_name[name] = account
        return account


def _upsert_batch(rows: list[dict | str]) -> UpsertReport:
    report = UpsertReport()
    prepared: list[tuple[int, dict]] = []
    for index, row in enumerate(rows):
        if isinstance(row, str):
            report.rows.append({"index": index, "status": "rejected", "id": None, "error": row})
            continue
        try:
            prepared.append((index, {**row, "email": normalize_email(row["email"])}))
        except DomainError as exc:
            report.rows.append({"index": index, "status": "rejected", "id": None, "error": exc.detail})
    batch = _Batch([row for _, row in prepared])
    applied: list[tuple[int, str, Contact]] = []
    with db.session.no_autoflush:
        for index, row in prepared:
            try:
                status, contact = _apply(row, batch)
                applied.append((index, status, contact))
            except DomainError as exc:
                report.rows.append({"index": index, "status": "rejected", "id": None, "error": exc.detail})
    db.session.flush()
    report.rows += [{"index": index, "status": status, "id": contact.id, "error": None}
                    for index, status, contact in applied]
    report.rows.sort(key=lambda row: row["index"])
    return report


def _apply(row: dict, batch: _Batch) -> tuple[str, Contact]:
    email, external_id = row["email"], row.get("external_id")
    contact = batch.by_external.get(external_id) if external_id else None
    if contact is None:
        contact = batch.by_email.get(email)
        if contact is not None and external_id and contact.external_id not in (None, external_id):
            raise Conflict(f"{email} belongs to the contact with external_id {contact.external_id!r}")
    elif batch.by_email.get(email) not in (None, contact):
        raise Conflict(f"{email} belongs to another contact")
    first_name, language = checked_first_name(row.get("first_name")), checked_language(row.get("language"))
    account = batch.account(row.get("account_name"), row.get("account_external_id"))
    if account is not None and row.get("account_annual_value") is not None:
        account.annual_value = row["account_annual_value"]
    if contact is None:
        contact = Contact(email=email, name=(row.get("name") or "").strip(), first_name=first_name,
                          language=language, external_id=external_id or None, account=account,
                          attributes=row.get("attributes") or {})
        db.session.add(contact)
        batch.by_email[email] = contact
        if external_id:
            batch.by_external[external_id] = contact
        return "created", contact
    before = (contact.email, contact.name, contact.first_name, contact.language, contact.external_id,
              contact.account, dict(contact.attributes or {}))
    if contact.email != email:
        batch.by_email.pop(contact.email, None)
        batch.by_email[email] = contact
        contact.email = email
    if row.get("name"):
        contact.name = row["name"].strip()
    if first_name:
        contact.first_name = first_name
    if language:
        contact.language = language
    if external_id and contact.external_id != external_id:
        contact.external_id = external_id
        batch.by_external[external_id] = contact
    if account is not None:
        contact.account = account
    if row.get("attributes"):
        contact.attributes = {**(contact.attributes or {}), **row["attributes"]}
    after = (contact.email, contact.name, contact.first_name, contact.language, contact.external_id,
             contact.account, dict(contact.attributes or {}))
    return ("unchanged" if after == before else "updated"), contact


def _upsert_one_by_one(rows: list[dict | str]) -> UpsertReport:
    """The careful path, after a conflict with a concurrent writer: each row on its own savepoint."""
    report = UpsertReport()
    for index, row in enumerate(rows):
        if isinstance(row, str):
            report.rows.append({"index": index, "status": "rejected", "id": None, "error": row})
            continue
        savepoint = db.session.begin_nested()
        try:
            status, contact = _upsert_one(row)
            savepoint.commit()
            report.rows.append({"index": index, "status": status, "id": contact.id, "error": None})
        except (DomainError, IntegrityError) as exc:
            savepoint.rollback()
            detail = exc.detail if isinstance(exc, DomainError) else "conflicts with another contact's email or id"
            report.rows.append({"index": index, "status": "rejected", "id": None, "error": detail})
    db.session.commit()
    return report


def _upsert_one(row: dict) -> tuple[str, Contact]:
    """One row as the fast path applies it, read and flushed on its own."""
    row = {**row, "email": normalize_email(row["email"])}
    status, contact = _apply(row, _Batch([row]))
    db.session.flush()
    return status, contact


PAGE_SIZE = 50


def find_contacts(search: str = "", after: int | None = None, limit: int = PAGE_SIZE) -> list[Contact]:
    """Contacts newest first, narrowed to those whose name, email, company or external id contains
    `search`; `after` is the last id of the previous page."""
    query = select(Contact).outerjoin(Account, Account.id == Contact.account_id).order_by(Contact.id.desc())
    search = search.strip()[:200]
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Contact.name, Contact.email, Contact.external_id, Account.name))))
    if after is not None:
        query = query.where(Contact.id < after)
    return list(db.session.scalars(query.limit(limit)))
