"""Who a send is for: a contact list, contacts matching attributes (and an account), or everyone.
Stored as a small JSON object on the send, resolved to contact ids when the send runs, so a
recurring send reaches the list as it is on that day."""

from __future__ import annotations

from sqlalchemy import select

from vocloop.contacts.models import Account, Contact, ContactList, list_members
from vocloop.errors import Invalid
from vocloop.extensions import db

MAX_ATTRIBUTES = 20


def checked_audience(audience: dict) -> dict:
    """{"list_id": 3} | {"attributes": {"plan": "pro"}, "account_id": 7} | {"all": true}"""
    if not isinstance(audience, dict) or not audience:
        raise Invalid("Choose an audience: a list, attributes (and/or an account), or all contacts.")
    if audience.get("all") is True:
        return {"all": True}
    if "list_id" in audience:
        contact_list = db.session.get(ContactList, audience["list_id"]) if isinstance(audience["list_id"], int) \
            else None
        if contact_list is None:
            raise Invalid("There is no such contact list.")
        return {"list_id": contact_list.id}
    attributes = audience.get("attributes") or {}
    account_id = audience.get("account_id")
    if not isinstance(attributes, dict) or len(attributes) > MAX_ATTRIBUTES or not all(
            isinstance(key, str) and key and isinstance(value, str | int | bool) for key, value in attributes.items()):
        raise Invalid(f"attributes maps up to {MAX_ATTRIBUTES} attribute names to the values to match.")
    if account_id is not None and (not isinstance(account_id, int) or db.session.get(Account, account_id) is None):
        raise Invalid("There is no such account.")
    if not attributes and account_id is None:
        raise Invalid("Choose an audience: a list, attributes (and/or an account), or all contacts.")
    return {"attributes": {key: str(value) for key, value in attributes.items()},
            **({"account_id": account_id} if account_id is not None else {})}


def contact_ids(audience: dict) -> list[int]:
    query = select(Contact.id)
    if "list_id" in audience:
        query = query.join(list_members, list_members.c.contact_id == Contact.id).where(
            list_members.c.list_id == audience["list_id"])
    for key, value in (audience.get("attributes") or {}).items():
        query = query.where(Contact.attributes[key].as_string() == value)
    if audience.get("account_id") is not None:
        query = query.where(Contact.account_id == audience["account_id"])
    return list(db.session.scalars(query.order_by(Contact.id)))


def describe(audience: dict) -> str:
    if audience.get("all"):
        return "all contacts"
    if "list_id" in audience:
        contact_list = db.session.get(ContactList, audience["list_id"])
        return f"list “{contact_list.name}”" if contact_list else "a deleted list"
    parts = [f"{key} = {value}" for key, value in (audience.get("attributes") or {}).items()]
    if audience.get("account_id") is not None:
        account = db.session.get(Account, audience["account_id"])
        parts.append(f"account {account.name if account else '(deleted)'}")
    return "contacts with " + " and ".join(parts)
