"""Every job, thin: load by id, call a service, safe to run twice; and the relay that hands committed
work (emails, webhook posts) to its jobs. `jobs/queue.py` is only the mechanism and knows no task."""

from __future__ import annotations

import functools
import logging
import time

from flask import Flask, current_app, has_app_context

from vocloop import post_commit
from vocloop.extensions import db
from vocloop.jobs.queue import enqueue, enqueue_at
from vocloop.logs import request_id_var

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker command hands its app over, so jobs do not build one each."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    """The app the worker command handed over. Jobs never build one themselves: that would make the
    task list import the whole application (and every edge through it), closing the one import cycle
    the package had; `flask --app vocloop worker` is how jobs run (the Procfile's worker)."""
    if _worker_app is None:
        raise RuntimeError("vocloop's jobs run in `flask --app vocloop worker`, which hands them its app; "
                           "a plain `rq worker` has none")
    return _worker_app


def job(func):
    """In a worker, each job gets its own app context and so its own session, removed afterwards;
    in-process (inside a request or command) the job shares the caller's context."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context() and _worker_app is None:
            return func(*args, **kwargs)
        token = request_id_var.set(_request_id_of_current_job())
        started = time.perf_counter()
        with _app().app_context():
            try:
                result = func(*args, **kwargs)
                enqueue_queued_work()  # what the job committed, relayed before its session goes
                log.info("job %s done in %.0fms", func.__name__, (time.perf_counter() - started) * 1000,
                         extra={"job": func.__name__})
                return result
            finally:
                db.session.remove()
                request_id_var.reset(token)

    return wrapper


def _request_id_of_current_job() -> str | None:
    """The request that caused this job, so its log lines can be followed into the worker."""
    from rq import get_current_job

    current = get_current_job()
    return (current.meta or {}).get("request_id") if current is not None else request_id_var.get()


@job
def deliver_messages(message_ids: list[int]) -> dict[str, int]:
    """Relay these outbox rows (those still due), batched; then whatever the outcome queued."""
    from vocloop.delivery import outcomes
    from vocloop.mail import outbox

    counts = outbox.deliver(message_ids, on_accepted=outcomes.on_accepted, on_failed=outcomes.on_failed)
    enqueue_queued_work()  # e.g. the owner's notice that a closing message failed
    for when, ids in outbox.take_retries().items():  # the sweep is the safety net, not the schedule
        enqueue_at(when, deliver_messages, ids, queue="mail")
    return counts


@job
def deliver_webhook(delivery_id: int) -> str | None:
    """One attempt; a failure is retried by the sweep at the delivery's next_attempt_at (kept in the
    database, so a retry survives a Redis restart)."""
    from vocloop.outbound import service as webhooks

    return webhooks.deliver(delivery_id)


@job
def run_due_sends() -> int:
    """Every minute: scheduled and recurring survey sends whose time has come."""
    from vocloop.db import utcnow
    from vocloop.surveys import sends

    ran = 0
    for send_id in sends.due_send_ids(utcnow()):
        if sends.run_send(send_id) is not None:
            ran += 1
        enqueue_queued_work()
    return ran


@job
def send_announcement(announcement_id: int) -> int:
    """Queue an announcement's emails batch by batch, each relayed as soon as it is committed; a
    killed worker's successor (or the sweep) goes on where it stopped."""
    from vocloop.announcements import service as announcements

    queued = 0
    while (batch := announcements.queue_next_batch(announcement_id)) is not None:
        queued += batch
        enqueue_queued_work()
    return queued


@job
def discover_themes(run_id: int) -> int | None:
    """Themes in a period's comments (the Themes page's button); a lost run is started again by the sweep."""
    from vocloop.themes import service as themes

    run = themes.run_discovery(run_id)
    return None if run is None else len(run.themes)


@job
def retrain_model(run_id: int) -> str | None:
    """Retrain the install's model (Topics page, API, weekly clock); a lost run is started again by the sweep."""
    from vocloop.classify import retraining

    run = retraining.run_retraining(run_id)
    return None if run is None else run.outcome


@job
def retrain_weekly() -> int | None:
    """Hourly look; once a week, when owners have labelled comments since the model in use was trained,
    a retraining run (put in use only if it measures better, as every retraining)."""
    from vocloop.classify import retraining
    from vocloop.errors import Invalid

    if not retraining.weekly_run_due():
        return None
    try:
        run, started = retraining.start_run(None)
    except Invalid:  # too few labels to learn from yet: next week, perhaps
        return None
    if started:
        enqueue(retrain_model, run.id, queue="classify")
    return run.id


@job
def import_contacts(import_id: int) -> dict | None:
    """A large CSV import, in batches; a killed worker's successor (or the sweep) resumes it."""
    from vocloop.contacts import imports

    contact_import = imports.process_import(import_id)
    return None if contact_import is None else {"created": contact_import.created, "rejected": contact_import.rejected}


@job
def send_survey_reminders() -> int:
    """The one reminder to non-responders, for invitations that are due one."""
    from vocloop.surveys.reminders import send_reminders

    queued = send_reminders()
    enqueue_queued_work()
    return queued


@job
def triage_response(response_id: int) -> int | None:
    from vocloop.items.triage import triage_response as triage

    item = triage(response_id)
    enqueue_queued_work()
    return None if item is None else item.id


@job
def post_item_to_slack(item_id: int, webhook_url: str) -> None:
    from vocloop.items.models import FeedbackItem
    from vocloop.notifications import post_to_slack, slack_text

    item = db.session.get(FeedbackItem, item_id)
    if item is not None:
        post_to_slack(webhook_url, slack_text(item))


@job
def send_digests() -> int:
    from vocloop.db import utcnow
    from vocloop.notifications import send_digests as send

    sent = send(utcnow())
    enqueue_queued_work()
    return sent


@job
def send_metrics_digests() -> int:
    """Hourly; each lead and admin gets last week's figures once, on the first run of the week."""
    from vocloop.db import utcnow
    from vocloop.metrics.digest import send_weekly_digests

    sent = send_weekly_digests(utcnow())
    enqueue_queued_work()
    return sent


@job
def sweep() -> dict:
    """Periodic catch-up (promise 2): late responses, lost jobs, mail due for a retry."""
    from vocloop.accounts.idempotency import forget_old
    from vocloop.announcements import service as announcements
    from vocloop.classify import retraining
    from vocloop.classify.reclassify import stalled_run_ids
    from vocloop.contacts import imports
    from vocloop.db import utcnow
    from vocloop.mail import outbox
    from vocloop.outbound import service as webhooks
    from vocloop.responses import counting
    from vocloop.responses import service as responses
    from vocloop.themes import service as themes

    settled = counting.settle_answers()
    completed = responses.complete_stale_responses()
    waiting = responses.unprocessed_response_ids(older_than_seconds=60)
    for response_id in set(completed) | set(waiting):
        enqueue(triage_response, response_id, queue="classify")
    due = outbox.due_message_ids()
    enqueue_delivery(due)
    hooks_due = webhooks.due_delivery_ids()
    enqueue_webhook_deliveries(hooks_due)
    forget_old(utcnow())  # Idempotency-Key answers older than a day
    stalled = stalled_run_ids()
    for run_id in stalled:
        enqueue(reclassify_responses, run_id, queue="classify")
    stalled_imports = imports.stalled_import_ids()
    for import_id in stalled_imports:
        enqueue(import_contacts, import_id, queue="default")
    stalled_theme_runs = themes.stalled_run_ids()
    for run_id in stalled_theme_runs:
        enqueue(discover_themes, run_id, queue="classify")
    stalled_retraining = retraining.stalled_run_ids()
    for run_id in stalled_retraining:
        enqueue(retrain_model, run_id, queue="classify")
    stalled_announcements = announcements.stalled_ids()
    for announcement_id in stalled_announcements:
        enqueue(send_announcement, announcement_id, queue="default")
    summary = {"counted": settled["counted"], "suspected": settled["suspected"],
               "completed": len(completed), "retriaged": len(waiting), "mail_due": len(due),
               "webhooks_due": len(hooks_due), "reclassify_resumed": len(stalled),
               "imports_resumed": len(stalled_imports), "announcements_resumed": len(stalled_announcements),
               "retraining_resumed": len(stalled_retraining)}
    if any(summary.values()):
        log.info("sweep: %s", summary)
    return summary


@job
def reclassify_responses(run_id: int) -> dict | None:
    """Apply the current classifier and taxonomy to past responses; resumes where a killed run stopped."""
    from vocloop.classify.reclassify import run_batches

    run = run_batches(run_id)
    return None if run is None else {"status": run.status, "done": run.done, "changed": run.changed}


@job
def apply_retention() -> dict | None:
    """Daily: erase customers' free text older than COMMENT_RETENTION_DAYS, when that is set."""
    from flask import current_app

    from vocloop.contacts.privacy import apply_comment_retention

    days = current_app.config.get("COMMENT_RETENTION_DAYS")
    return apply_comment_retention(days) if days else None


@job
def watch_sla() -> dict:
    """Every few minutes: SLA warnings, breaches and escalations, and their emails."""
    from vocloop.items.sla_watch import watch_sla as watch

    counts = watch()
    enqueue_queued_work()
    return counts


def enqueue_delivery(message_ids: list[int]) -> None:
    """One relay job per request-sized batch, so several workers send a large dispatch in parallel."""
    size = current_app.config["MAIL_BATCH_SIZE"]
    for start in range(0, len(message_ids), size):
        # Retried by rq if it fails as a whole (the database restarting): the relay only claims rows still
        # due, so a rerun never sends twice.
        enqueue(deliver_messages, message_ids[start:start + size], queue="mail")


RELAY_ROUNDS = 10  # in-process, a relayed job may commit more work (a failure notice): relay that too


def enqueue_queued_work() -> None:
    """Relay every email, webhook and Slack post that committed transactions queued (vocloop.post_commit).
    Started after every request, job and command (init_app, tasks.job, cli), so no edge can forget it;
    calling it sooner, right after a commit, is harmless: what it relays is taken once."""
    from vocloop.extensions import db
    from vocloop.mail import outbox
    from vocloop.notifications import take_slack_posts
    from vocloop.outbound import service as webhooks

    if not db.session.registry.has():  # no session, nothing committed through one (a click: ~50 us saved)
        return
    for _ in range(RELAY_ROUNDS):
        if not post_commit.anything_ready(db.session):
            return
        enqueue_delivery(outbox.take_queued_ids())
        enqueue_webhook_deliveries(webhooks.take_queued_ids())
        for item_id, url in take_slack_posts():
            enqueue(post_item_to_slack, item_id, url, queue="default")


def init_app(app) -> None:
    """After each request, whatever it committed is relayed, even if a view forgot or then failed."""

    @app.teardown_request
    def _relay_after_request(error: BaseException | None = None) -> None:
        try:
            enqueue_queued_work()
        except Exception:  # the response is gone; the sweep relays what is left
            log.exception("relaying committed work after the request failed; the sweep will catch up")


def enqueue_webhook_deliveries(delivery_ids: list[int]) -> None:
    """One job per delivery, not retried by rq: a failed attempt sets its own next_attempt_at and the
    sweep posts it again then."""
    for delivery_id in delivery_ids:
        enqueue(deliver_webhook, delivery_id, queue="default", retries=0)
