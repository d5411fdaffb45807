"""Lists of the API: equality filters from the query string, then keyset pages by id."""

from __future__ import annotations

from vocloop.extensions import db


def matching(query, args: dict, columns: dict):
    """WHERE column = value for each query argument given (None means not given)."""
    for name, column in columns.items():
        if args.get(name) is not None:
            query = query.where(column == args[name])
    return query


def page(query, model, args: dict) -> list:
    """Keyset pagination by id: stable while rows are added, and as fast on page 1,000 as on page 1."""
    if args.get("after_id"):
        query = query.where(model.id > args["after_id"])
    return list(db.session.scalars(query.order_by(model.id).limit(args["limit"])))
