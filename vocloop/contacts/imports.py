"""CSV import and export of contacts.

An import is a row in contact_imports holding the file until it is done: a small file is imported
at once, a large one by a job in batches that records its progress after each batch, so a killed
worker's successor resumes where it stopped. Rows are upserted like the API's bulk call (by
external_id, else email; consent never changed); each bad row is rejected with its line number
(its spreadsheet row number) and reason, and the others are kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import timedelta

from sqlalchemy import insert, select, update

from vocloop.accounts.models import User
from vocloop.contacts.models import Account, Contact, ContactImport, ContactList, list_members
from vocloop.contacts.service import upsert_contacts
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db

MAX_BYTES = 20 * 1024 * 1024
BATCH = 500
INLINE_ROWS = 1000  # up to this many rows an upload is imported during the request
KEPT_REJECTIONS = 10_000
LEASE = timedelta(minutes=5)
KNOWN_COLUMNS = ("email", "name", "first_name", "language", "external_id", "account_name", "account_external_id",
                 "account_annual_value")
LIMITS = {"email": 320, "name": 200, "first_name": 100, "language": 10, "external_id": 200, "account_name": 200,
          "account_external_id": 200}
MAX_ATTRIBUTE_LENGTH = 500
# Written by the export, read back by nobody: an exported file can be imported again as it is.
EXPORT_ONLY = ("id", "unsubscribed_at", "suppressed_reason", "created_at")
EXPORT_COLUMNS = ("id", "email", "name", "first_name", "language", "external_id", "account_name",
                  "account_external_id", "unsubscribed_at", "suppressed_reason", "created_at")


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise Invalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it in parts.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"The file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8.") from None


def _reader(content: str) -> csv.DictReader:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if "email" not in header:
        raise Invalid("The first line must name the columns, one of them 'email'.")
    if len(set(header)) != len(header):
        raise Invalid("Two columns have the same name.")
    reader.fieldnames = header
    return reader


def count_rows(content: str) -> int:
    return sum(1 for _ in _reader(content))


def list_named(name: str | None) -> ContactList | None:
    name = (name or "").strip()
    if not name:
        return None
    if len(name) > 120:
        raise Invalid("A list name has at most 120 characters.")
    contact_list = db.session.scalar(select(ContactList).where(ContactList.name == name))
    if contact_list is None:
        contact_list = ContactList(name=name)
        db.session.add(contact_list)
        db.session.flush()
    return contact_list


def start_import(user: User | None, filename: str, data: bytes, list_name: str | None = None) -> ContactImport:
    """Check the file's shape now (a clear error before anything is stored), keep it, count its rows."""
    content = decode(data)
    try:
        total = count_rows(content)
    except csv.Error as exc:
        raise Invalid(f"This is not a readable CSV file: {exc}") from None
    if total == 0:
        raise Invalid("The file has a header but no contacts.")
    contact_import = ContactImport(filename=(filename or "contacts.csv")[:255], content=content, total_rows=total,
                                   contact_list=list_named(list_name), created_by_id=user.id if user else None)
    db.session.add(contact_import)
    db.session.commit()
    return contact_import


def row_values(line: int, raw: dict) -> dict | str:
    """One CSV row as the upsert's input, or why it is rejected."""
    if None in raw:  # more cells than header names
        return "more cells than columns"
    values = {key: (value or "").strip() for key, value in raw.items()}
    if not values.get("email"):
        return "email is missing"
    for key, limit in LIMITS.items():
        if len(values.get(key, "")) > limit:
            return f"{key} is longer than {limit} characters"
    row: dict = {key: values[key] or None for key in KNOWN_COLUMNS if key in values}
    row["name"] = values.get("name", "")
    if row.get("account_annual_value") is not None:
        try:
            row["account_annual_value"] = int(row["account_annual_value"].replace(",", "").replace("_", ""))
        except ValueError:
            return "account_annual_value is not a whole number"
        if not 0 <= row["account_annual_value"] <= 2**31 - 1:
            return "account_annual_value is out of range"
    attributes = {key: value for key, value in values.items()
                  if key not in KNOWN_COLUMNS and key not in EXPORT_ONLY and key and value}
    if any(len(value) > MAX_ATTRIBUTE_LENGTH for value in attributes.values()):
        return f"an attribute is longer than {MAX_ATTRIBUTE_LENGTH} characters"
    row["attributes"] = attributes
    return row


def _claim(import_id: int) -> ContactImport | None:
    now = utcnow()
    claimed = db.session.execute(update(ContactImport).where(
        ContactImport.id == import_id, ContactImport.status.in_(("queued", "running")),
        (ContactImport.leased_until.is_(None)) | (ContactImport.leased_until < now))
        .values(status="running", leased_until=now + LEASE).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return db.session.get(ContactImport, import_id) if claimed else None


def process_import(import_id: int, progress: Callable[[int], None] | None = None) -> ContactImport | None:
    """Import the rows not yet done, a batch per transaction; None if another worker holds it."""
    contact_import = _claim(import_id)
    if contact_import is None:
        return None
    rows = enumerate(_reader(contact_import.content), start=2)  # spreadsheet row numbers: 1 is the header
    for _ in range(contact_import.processed_rows):
        next(rows, None)
    while True:
        batch = [(line, raw) for _, (line, raw) in zip(range(BATCH), rows, strict=False)]
        if not batch:
            break
        try:
            _import_batch(contact_import, batch)
        except Exception as exc:  # not a bad row (those are rejected): stop, say why, do not retry forever
            db.session.rollback()
            fail_import(db.session.get(ContactImport, import_id),
                        f"stopped at row {batch[0][0]}: {type(exc).__name__}: {exc}")
            raise
        if progress:
            progress(len(batch))
    contact_import.status, contact_import.finished_at = "done", utcnow()
    contact_import.content, contact_import.leased_until = None, None
    db.session.commit()
    return contact_import


def _import_batch(contact_import: ContactImport, batch: list[tuple[int, dict]]) -> None:
    values = [row_values(line, raw) for line, raw in batch]
    report = upsert_contacts(values)  # commits; each row on its own savepoint
    rejections = list(contact_import.rejections or [])
    added_ids = []
    for (line, raw), row in zip(batch, report.rows, strict=True):
        if row["status"] == "rejected":
            if len(rejections) < KEPT_REJECTIONS:
                rejections.append({"row": line, "email": (raw.get("email") or "")[:320], "error": row["error"]})
        else:
            added_ids.append(row["id"])
        setattr(contact_import, row["status"], getattr(contact_import, row["status"]) + 1)
    if contact_import.list_id and added_ids:
        present = set(db.session.scalars(select(list_members.c.contact_id).where(
            list_members.c.list_id == contact_import.list_id, list_members.c.contact_id.in_(added_ids))))
        new = sorted(set(added_ids) - present)
        if new:
            db.session.execute(insert(list_members), [{"list_id": contact_import.list_id, "contact_id": contact_id}
                                                      for contact_id in new])
    contact_import.rejections = rejections
    contact_import.processed_rows += len(batch)
    contact_import.leased_until = utcnow() + LEASE
    db.session.commit()


def stalled_import_ids(grace_seconds: int = 60) -> list[int]:
    """Imports whose job was lost (queued a while ago) or whose worker died (lease over): for the sweep."""
    now = utcnow()
    return list(db.session.scalars(select(ContactImport.id).where(
        ContactImport.status.in_(("queued", "running")),
        (ContactImport.leased_until < now) | (ContactImport.leased_until.is_(None) & (
            ContactImport.created_at < now - timedelta(seconds=grace_seconds))))))


def fail_import(contact_import: ContactImport, error: str) -> None:
    """Rows already imported stay; the file is dropped and the error shown on the import's page."""
    contact_import.status, contact_import.error, contact_import.content = "failed", error[:2000], None
    contact_import.leased_until = None
    db.session.commit()


def attribute_names() -> list[str]:
    """Every attribute name in use, for the export's columns."""
    names: set[str] = set()
    after = 0
    while True:
        rows = db.session.execute(select(Contact.id, Contact.attributes).where(Contact.id > after)
                                  .order_by(Contact.id).limit(5000)).all()
        if not rows:
            return sorted(names - set(EXPORT_COLUMNS))
        for _, attributes in rows:
            names.update(attributes or {})
        after = rows[-1][0]


def export_rows() -> Iterator[dict]:
    """Every contact, a batch at a time; each attribute in a column of its own (as the import reads it)."""
    after = 0
    while True:
        rows = db.session.execute(
            select(Contact.id, Contact.email, Contact.name, Contact.first_name, Contact.language, Contact.external_id,
                   Account.name.label("account_name"),
                   Account.external_id.label("account_external_id"), Contact.unsubscribed_at,
                   Contact.suppressed_reason, Contact.created_at, Contact.attributes)
            .outerjoin(Account, Account.id == Contact.account_id).where(Contact.id > after)
            .order_by(Contact.id).limit(1000)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield {**(row["attributes"] or {}), **row,
                   "unsubscribed_at": row["unsubscribed_at"].isoformat() if row["unsubscribed_at"] else None,
                   "created_at": row["created_at"].isoformat()}
        after = rows[-1]["id"]
