"""Commands for the model that learns from the team: importing labelled history, retraining."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

corrections_group = AppGroup("corrections", help="The team's labels: import labelled history from another tool.")


@corrections_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "email", help="The user the import is recorded under (default: nobody).")
def import_file(file, email):
    """Import labelled comments: a CSV with a header, columns text, label (positive/neutral/negative)
    and optionally topics (separated by ';'). Bad rows are listed by line and skipped; the rest is
    stored. Exits 1 when any row was refused."""
    from sqlalchemy import select

    from vocloop.accounts.models import User
    from vocloop.classify.corrections import import_corrections
    from vocloop.errors import DomainError
    from vocloop.extensions import db

    user = None
    if email:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"No user with the email {email}.")
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            report = import_corrections(handle, user)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                   "nothing was imported from the undecodable part") from None
    except DomainError as exc:
        raise click.ClickException(f"{file}: {exc.detail}; nothing was imported") from None
    for error in report.errors:
        click.echo(f"{file}: {error}", err=True)
    click.echo(f"imported {report.imported} labelled comment(s); {report.duplicates} already imported; "
               f"{len(report.errors)} row(s) refused")
    if report.unknown_topics:
        click.echo(f"note: topics not in the taxonomy (kept with the rows): {', '.join(sorted(report.unknown_topics))}",
                   err=True)
    if report.errors:
        raise SystemExit(1)


@click.command("retrain")
@click.option("--restore", is_flag=True, help="Put back the model that was in use before the current one.")
@with_appcontext
def retrain(restore):
    """Train the install's model from the shipped one plus every correction; print its cross-validated
    macro-F1 on the corrections before and after, and put it in use only when it is better. The last
    line is one JSON object of the figures."""
    import json

    from vocloop.classify import learning
    from vocloop.errors import DomainError

    try:
        if restore:
            version = learning.restore()
            click.echo(f"restored: {version} is the model in use")
            click.echo(json.dumps({"in_use": version, "restored": True}))
            return
        result = learning.retrain()
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    figures = result.figures()
    click.echo(f"corrections      {figures['corrections']} labelled comments, {figures['folds']}-fold cross-validation")
    click.echo(f"macro-F1 before  {figures['macro_f1_before']:.4f}  ({figures['before']}, the model in use)")
    click.echo(f"macro-F1 after   {figures['macro_f1_after']:.4f}  ({figures['trained']}, cross-validated)")
    if result.better:
        click.echo(f"in use           {figures['trained']} (better); `retrain --restore` puts back {figures['before']}")
    else:
        click.echo(f"kept             {figures['before']}: the retrained model is not better")
    click.echo(json.dumps(figures))
