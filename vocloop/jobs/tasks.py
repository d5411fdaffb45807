"""Every job, thin: load by id, call a service, safe to run twice."""

from __future__ import annotations

import functools
import logging

from flask import Flask, has_app_context

from vocloop.extensions import db

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker command hands its app over, so jobs do not build one each."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    """The app for jobs run outside any (a plain `rq worker`): built once per process."""
    global _worker_app
    if _worker_app is None:
        from vocloop import create_app
        _worker_app = create_app()
    return _worker_app


def job(func):
    """In a worker, each job gets its own app context and so its own session, removed afterwards;
    in-process (inside a request or command) the job shares the caller's context."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context() and _worker_app is None:
            return func(*args, **kwargs)
        with _app().app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


@job
def deliver_message(message_id: int) -> str | None:
    from vocloop.items import service as items
    from vocloop.mail import outbox
    from vocloop.surveys import service as surveys

    def accepted(message):
        if message.kind == "survey" and message.invitation_id:
            surveys.mark_invitation_sent(message.invitation_id)
        elif message.kind == "closing" and message.item_id:
            items.record_closing_accepted(message)

    def failed(message):
        if message.kind == "survey" and message.invitation_id:
            surveys.mark_invitation_failed(message.invitation_id)
        elif message.kind == "closing" and message.item_id:
            items.record_closing_failed(message)

    message = outbox.deliver(message_id, on_accepted=accepted, on_failed=failed)
    return None if message is None else message.status


@job
def deliver_messages(message_ids: list[int]) -> None:
    for message_id in message_ids:
        deliver_message(message_id)


@job
def triage_response(response_id: int) -> int | None:
    from vocloop.items.triage import triage_response as triage

    item = triage(response_id)
    return None if item is None else item.id


@job
def sweep() -> dict:
    """Periodic catch-up (promise 2): late responses, lost jobs, mail due for a retry."""
    from vocloop.jobs.queue import enqueue
    from vocloop.mail import outbox
    from vocloop.responses import service as responses

    completed = responses.complete_stale_responses()
    waiting = responses.unprocessed_response_ids(older_than_seconds=60)
    for response_id in set(completed) | set(waiting):
        enqueue(triage_response, response_id, queue="classify")
    due = outbox.due_message_ids()
    if due:
        enqueue(deliver_messages, due, queue="mail", retries=0)
    summary = {"completed": len(completed), "retriaged": len(waiting), "mail_due": len(due)}
    if any(summary.values()):
        log.info("sweep: %s", summary)
    return summary
