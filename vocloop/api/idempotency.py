"""Idempotency-Key for the API's POST requests: a client that retries (a timeout, a lost reply) with the
same key gets the first answer back, and nothing is created twice.

The key is reserved in its own committed row before the work starts, so of two identical requests
racing, one does the work and the other is told it is under way (409) or, once it is done, gets the
stored answer. Only successful answers are kept: after an error the key is free for a corrected retry.
A key reused for a different request is refused (422). Keys are kept a day (accounts/idempotency.py).
"""

from __future__ import annotations

import hashlib

from flask import Response, abort, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vocloop.accounts.idempotency import MAX_KEY_LENGTH, IdempotencyRecord
from vocloop.api.auth import api_user
from vocloop.extensions import db

HEADER = "Idempotency-Key"


def _request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}?{request.query_string.decode()}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def begin() -> Response | None:
    """before_request (after authentication) of the API blueprints."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        abort(422, description=f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.")
    user_id, fingerprint = api_user().id, _request_hash()
    record = IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        earlier = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id,
                                                                    IdempotencyRecord.key == key))
        if earlier is None:  # freed meanwhile by a failed first attempt: ask the client to retry
            abort(409, description=f"A request with this {HEADER} just failed; retry it.")
        if earlier.request_hash != fingerprint:
            abort(422, description=f"This {HEADER} was used for a different request.")
        if earlier.status_code is None:
            abort(409, description=f"A request with this {HEADER} is still being handled; retry shortly.")
        replay = Response(earlier.body, status=earlier.status_code, content_type=earlier.content_type)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    g.idempotency_record_id = record.id
    return None


def finish(response: Response) -> Response:
    """after_request: keep a success for replays; free the key after a failure."""
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    db.session.rollback()  # whatever the view left uncommitted is not ours to save
    record = db.session.get(IdempotencyRecord, record_id)
    if record is not None:
        if 200 <= response.status_code < 300:
            record.status_code, record.content_type = response.status_code, response.content_type
            record.body = response.get_data(as_text=True)
        else:
            db.session.delete(record)
        db.session.commit()
    return response


def release(_exception=None) -> None:
    """teardown_request: a request that died before finish() must not hold its key as 'in progress'."""
    record_id = g.pop("idempotency_record_id", None)
    if record_id is not None:
        db.session.rollback()
        db.session.execute(IdempotencyRecord.__table__.delete().where(IdempotencyRecord.id == record_id))
        db.session.commit()


def protect(blueprint) -> None:
    """Idempotency-Key on every POST of this (already authenticated) API blueprint."""
    blueprint.before_request(begin)
    blueprint.after_request(finish)
    blueprint.teardown_request(release)
