"""Flask commands: users and tokens, the demo, the worker, the clock and the sweep."""

from __future__ import annotations

import functools
import secrets
import sys

import click
from flask import Flask, current_app

from vocloop.errors import DomainError


def init_app(app: Flask) -> None:
    for command in (create_user, create_token, demo, worker, clock, sweep, relay_mail, check, contact_export,
                    contact_erase, deactivate_user, classify, contacts_import, contacts_export):
        app.cli.add_command(command)
    from vocloop.classify.cli import corrections_group, retrain

    app.cli.add_command(corrections_group)
    app.cli.add_command(retrain)
    from vocloop.themes.cli import themes

    app.cli.add_command(themes)
    for command in app.cli.commands.values():
        _relay_after(command)


def _relay_after(command: click.Command) -> None:
    """Every command relays what it committed when it ends (emails, webhooks), so none can forget to."""
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            _relay_after(subcommand)
        return
    if command.callback is None or getattr(command.callback, "_relays", False):
        return
    callback = command.callback

    @functools.wraps(callback)
    def relaying(*args, **kwargs):
        from flask import has_app_context

        from vocloop.jobs.tasks import enqueue_queued_work

        try:
            return callback(*args, **kwargs)
        finally:
            if has_app_context():  # a command that touches no database (themes, classify) has nothing to relay
                enqueue_queued_work()

    relaying._relays = True
    command.callback = relaying


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.detail)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "lead", "admin"]), required=True)
@click.option("--team", help="Team to add the user to (created if new).")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email, role, team, name, password_stdin):
    """Create a user. Without --password-stdin a random password is generated and printed once."""
    from vocloop.accounts import service

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    try:
        user = service.create_user(email, role=role, name=name, password=password, team=team)
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email} (id {user.id}){' in team ' + team if team else ''}.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", help="A label for the token.")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True,
              help="read: GET only; write: also changes; admin: also what only admins may do.")
@click.option("--expires-days", type=click.IntRange(1, 3 * 366), help="Days until it expires (default: never).")
def create_token(email, name, scope, expires_days):
    """Create an API token for a user; the token is the last line of the output."""
    from datetime import timedelta

    from sqlalchemy import select

    from vocloop.accounts import service
    from vocloop.accounts.models import User
    from vocloop.db import utcnow
    from vocloop.extensions import db

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"No active user with the email {email}.")
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    try:
        token = service.create_api_token(user, name=name, scope=scope, expires_at=expires_at)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"API token for {user.email} ({user.role}), scope {scope}"
               f"{f', expires {expires_at:%Y-%m-%d}' if expires_at else ''}; it is shown only this once:")
    click.echo(token)


@click.command("demo")
@click.option("--force", is_flag=True, help="Seed even in production mode.")
def demo(force):
    """Seed a small, realistic demo: a company, teams, rules, contacts, answers and closed loops."""
    from vocloop.demo import seed_demo

    if current_app.config["VOCLOOP_ENV"] == "production" and not force:
        raise click.ClickException("Refusing to seed demo data in production (use --force if you mean it).")
    for line in seed_demo():
        click.echo(line)


@click.command("worker")
@click.option("--queues", default="mail,classify,default", show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queues, burst):
    """Run an rq worker for vocloop's jobs (needs REDIS_URL)."""
    from rq import SimpleWorker

    from vocloop.jobs import tasks
    from vocloop.jobs.queue import redis_connection

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process.")
    tasks.use_app(current_app._get_current_object())
    names = [name.strip() for name in queues.split(",") if name.strip()]
    # SimpleWorker: one process, the app built once; jobs are idempotent, so a killed worker
    # loses nothing that the next run or the sweep will not redo. Redis going away does not end the
    # process: it waits for Redis and works again (the database kept everything meanwhile).
    while_redis_is_away(lambda: SimpleWorker(names, connection=connection).work(burst=burst, with_scheduler=True))


def while_redis_is_away(run, pause: float = 2.0) -> None:
    """Run until it returns; when Redis is unreachable, say so once, wait for it, and run again."""
    import logging
    import time

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    log = logging.getLogger("vocloop.cli")
    waiting = False
    while True:
        try:
            run()
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if not waiting:
                log.warning("Redis unreachable (%s): waiting for it", exc)
            waiting = True
            time.sleep(pause)


@click.command("clock")
def clock():
    """Enqueue the periodic jobs (sweep, retries) on Redis; run one of these per deployment."""
    from vocloop.jobs.schedule import run_clock

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis, periodic jobs run in the web process.")
    app = current_app._get_current_object()
    while_redis_is_away(lambda: run_clock(app))


@click.command("sweep")
def sweep():
    """Run the periodic catch-up once, now: late responses, lost jobs, mail due for a retry."""
    from vocloop.jobs import tasks

    click.echo(tasks.sweep())


@click.command("relay-mail")
def relay_mail():
    """Send every due outbox row now, in this process (after an outage, or without workers)."""
    from vocloop.jobs import tasks
    from vocloop.mail import outbox

    totals = {"sent": 0, "retry": 0, "failed": 0}
    while ids := outbox.due_message_ids(grace_seconds=0):
        size = current_app.config["MAIL_BATCH_SIZE"]
        settled = 0
        for start in range(0, len(ids), size):
            for key, count in tasks.deliver_messages(ids[start:start + size]).items():
                totals[key] += count
                settled += count if key != "retry" else 0
        if settled == 0:
            break  # only retries left and none due yet, or rows another relay or the events webhook holds
    click.echo(totals)


@click.command("classify")
@click.option("--eval", "eval_file", type=click.Path(exists=True, dir_okay=False),
              help="Measure on a labeled file: id<TAB>mean human rating (-4..4)<TAB>text per line.")
@click.option("--classifier", help="An analyzer from the registry (default: the CLASSIFIER setting).")
def classify(eval_file, classifier):
    """Classify texts from standard input, one per line, into JSON lines; or measure with --eval."""
    import json

    from vocloop.classify import get_analyzer
    from vocloop.classify.training.evaluate import classify_lines, evaluate_file

    try:
        analyzer = get_analyzer(classifier) if classifier else _analyzer_in_use()
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if eval_file:
        try:
            evaluation = evaluate_file(eval_file, analyzer)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        scores = evaluation.scores
        figures = {"classifier": analyzer.version, "lines": evaluation.lines,
                   "scored": evaluation.lines - evaluation.left_out, "left_out_as_training": evaluation.left_out,
                   "accuracy": round(scores.accuracy, 4),
                   "macro_f1": round(scores.macro_f1, 4), "pearson_r": round(scores.pearson_r, 4),
                   "per_label_f1": {label: round(f1, 4) for label, f1 in scores.per_label_f1.items()}}
        if evaluation.left_out:
            click.echo(f"note: {evaluation.left_out} line(s) are in the model's training data and are not scored",
                       err=True)
        for name, key in (("classifier", "classifier"), ("lines", "lines"), ("scored", "scored"),
                          ("accuracy", "accuracy"),
                          ("macro-F1", "macro_f1"), ("Pearson r", "pearson_r")):
            click.echo(f"{name:<11} {figures[key]}")
        click.echo(json.dumps(figures))
        return
    stdin = click.get_text_stream("stdin", encoding="utf-8", errors="replace")
    for result in classify_lines(stdin, analyzer, _taxonomy()):
        click.echo(json.dumps(result, ensure_ascii=False))


def _analyzer_in_use():
    """The model in use (the install's retrained one, if any); the setting's where the database is not set up."""
    from sqlalchemy.exc import SQLAlchemyError

    from vocloop.classify import get_analyzer
    from vocloop.classify.learning import analyzer_in_use
    from vocloop.extensions import db

    try:
        return analyzer_in_use()
    except SQLAlchemyError:
        db.session.rollback()
        return get_analyzer(current_app.config["CLASSIFIER"])


def _taxonomy():
    """The taxonomy leads edited; the default one where the database has none yet (not migrated)."""
    from sqlalchemy.exc import SQLAlchemyError

    from vocloop.classify.topics import DEFAULT, current_taxonomy
    from vocloop.extensions import db

    try:
        return current_taxonomy()
    except SQLAlchemyError:
        db.session.rollback()
        click.echo("note: no topics table (run `flask db upgrade`); using the default taxonomy", err=True)
        return DEFAULT


@click.command("check")
def check():
    """Report what is misconfigured or unhealthy; exits 1 when anything is an error."""
    from vocloop.ops.check import run_checks

    findings = run_checks()
    marks = {"ok": "ok     ", "warning": "WARNING", "error": "ERROR  "}
    for finding in findings:
        click.echo(f"{marks[finding.level]} {finding.topic}: {finding.message}")
    errors = sum(finding.level == "error" for finding in findings)
    if errors:
        raise click.ClickException(f"{errors} problem(s) to fix")


def _contact_by_email(email: str):
    from sqlalchemy import select

    from vocloop.contacts.models import Contact
    from vocloop.extensions import db

    contact = db.session.scalar(select(Contact).where(Contact.email == email.strip().lower()))
    if contact is None:
        raise click.ClickException(f"No contact with the email {email}.")
    return contact


@click.command("contact-export")
@click.argument("email")
def contact_export(email):
    """Print, as JSON, everything stored about one contact (a data subject access request)."""
    import json

    from vocloop.contacts.privacy import export_contact

    click.echo(json.dumps(export_contact(_contact_by_email(email)), indent=2, ensure_ascii=False))


@click.command("contact-erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do it; without this flag nothing changes.")
def contact_erase(email, yes):
    """Erase one contact: identity and free text removed, numbers kept for the metrics."""
    from vocloop.contacts.privacy import erase_contact

    contact = _contact_by_email(email)
    if not yes:
        raise click.ClickException(f"This erases contact {contact.id} for good; run again with --yes.")
    counts = erase_contact(contact)
    click.echo(f"Erased contact {contact.id}: {counts}")


@click.command("deactivate-user")
@click.argument("email")
def deactivate_user(email):
    """Stop a user signing in; their open items are handed over first (or nothing changes)."""
    from sqlalchemy import select

    from vocloop.accounts.models import User
    from vocloop.extensions import db
    from vocloop.items.handover import deactivate_user as deactivate

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    try:
        moved = deactivate(user, None)
    except DomainError as error:
        _fail(error)
    click.echo(f"Deactivated {user.email}; {moved} open item(s) handed over.")


@click.command("contacts-import")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--list", "list_name", help="Also add the contacts to this list (created if new).")
@click.option("--rejects", type=click.Path(dir_okay=False, writable=True),
              help="Write the rejected rows (row number, email, reason) to this CSV file.")
def contacts_import(csv_file, list_name, rejects):
    """Import contacts from a CSV (header row with 'email'; updates by external_id, else email)."""
    from vocloop.contacts import imports
    from vocloop.exports import csv_lines

    try:
        contact_import = imports.start_import(None, csv_file.name, csv_file.read(imports.MAX_BYTES + 1), list_name)
    except DomainError as error:
        _fail(error)
    with click.progressbar(length=contact_import.total_rows, label=f"Importing {contact_import.total_rows} rows",
                           file=sys.stderr) as bar:
        done = imports.process_import(contact_import.id, progress=bar.update)
    click.echo(f"{done.created} created, {done.updated} updated, {done.unchanged} unchanged, "
               f"{done.rejected} rejected.")
    for rejection in done.rejections[:20]:
        click.echo(f"  row {rejection['row']}: {rejection['email'] or '(no email)'}: {rejection['error']}", err=True)
    if done.rejected > 20 and not rejects:
        click.echo(f"  ... and {done.rejected - 20} more: use --rejects FILE for the whole list.", err=True)
    if rejects and done.rejections:
        with open(rejects, "w", encoding="utf-8", newline="") as out:
            out.writelines(csv_lines(("row", "email", "error"), done.rejections))
        click.echo(f"Rejected rows written to {rejects}.")


@click.command("contacts-export")
@click.argument("csv_file", type=click.File("w", encoding="utf-8", lazy=True))
def contacts_export(csv_file):
    """Write every contact to a CSV that contacts-import reads back ('-' for standard output)."""
    from vocloop.contacts import imports
    from vocloop.exports import csv_lines

    csv_file.writelines(csv_lines((*imports.EXPORT_COLUMNS, *imports.attribute_names()), imports.export_rows()))
