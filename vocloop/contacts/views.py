"""The Contacts page, for leads and admins: CSV import (with its report of rejected rows), export,
and the lists that surveys are sent to."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from vocloop.accounts.access import only_for
from vocloop.contacts import imports, privacy
from vocloop.contacts import service as contacts
from vocloop.contacts.models import Contact, ContactImport, ContactList, list_members
from vocloop.errors import DomainError
from vocloop.exports import csv_download
from vocloop.extensions import db
from vocloop.http_input import accepts_up_to
from vocloop.i18n import available_languages
from vocloop.items.timeline import customer_timeline
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import import_contacts

bp = Blueprint("contacts", __name__)


only_for(bp, "lead", "admin")


@bp.get("/")
def index(status: int = 200):
    lists = db.session.execute(select(ContactList, func.count(list_members.c.contact_id))
                               .outerjoin(list_members, list_members.c.list_id == ContactList.id)
                               .group_by(ContactList.id).order_by(ContactList.name)).all()
    recent = db.session.scalars(select(ContactImport).order_by(ContactImport.id.desc()).limit(10)).all()
    total = db.session.scalar(select(func.count()).select_from(Contact))
    search = (request.args.get("q") or "").strip()
    after = request.args.get("after", "")
    people = contacts.find_contacts(search, int(after) if after.isdigit() else None, contacts.PAGE_SIZE + 1)
    more = len(people) > contacts.PAGE_SIZE
    people = people[:contacts.PAGE_SIZE]
    older = {"q": search or None, "after": people[-1].id} if more else None
    return render_template("contacts/index.html", lists=lists, imports=recent, total=total, form=FlaskForm(),
                           columns=imports.KNOWN_COLUMNS, people=people, search=search, older=older), status


@bp.get("/<int:contact_id>")
def show(contact_id: int):
    """One person: how they are addressed, whether they may be surveyed, and their whole story."""
    contact = db.get_or_404(Contact, contact_id)
    story = [entry for entry in customer_timeline(contact) if entry.contact.id == contact.id]
    return render_template("contacts/show.html", contact=contact, timeline=story, form=FlaskForm())


@bp.get("/<int:contact_id>/export.json")
def export_json(contact_id: int):
    """Everything stored about the person (a data subject access request), as the API gives it. Admins."""
    if current_user.role != "admin":
        abort(403)
    record = privacy.export_contact(db.get_or_404(Contact, contact_id))
    return Response(json.dumps(record, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="contact-{contact_id}.json"'})


@bp.post("/<int:contact_id>/erase")
def erase(contact_id: int):
    """Identity and free text removed everywhere, numbers kept (as the API's erase). Admins."""
    if current_user.role != "admin":
        abort(403)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    counts = privacy.erase_contact(db.get_or_404(Contact, contact_id))
    flash(f"Contact erased: {sum(counts.values())} answers, emails and timeline entries no longer name or "
          "quote them; scores and dates stay for the metrics.", "ok")
    return redirect(url_for(".show", contact_id=contact_id), code=303)


@bp.post("/imports")
@accepts_up_to(imports.MAX_BYTES + 64 * 1024)  # the file, and the form's few fields around it
def upload():
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        flash("Choose a CSV file to import.", "error")
        return index(status=400)
    try:
        contact_import = imports.start_import(current_user, upload_file.filename,
                                              upload_file.read(imports.MAX_BYTES + 1), request.form.get("list_name"))
    except DomainError as exc:
        flash(exc.detail, "error")
        return index(status=exc.status)
    if contact_import.total_rows <= imports.INLINE_ROWS:
        imports.process_import(contact_import.id)
    else:
        enqueue(import_contacts, contact_import.id, queue="default")
    return redirect(url_for(".show_import", import_id=contact_import.id), code=303)


@bp.get("/imports/<int:import_id>")
def show_import(import_id: int):
    contact_import = db.get_or_404(ContactImport, import_id)
    under_way = contact_import.status in ("queued", "running")
    return render_template("contacts/import.html", contact_import=contact_import,
                           refresh_seconds=2 if under_way else None)


@bp.get("/imports/<int:import_id>/rejected.csv")
def rejected_csv(import_id: int):
    contact_import = db.get_or_404(ContactImport, import_id)
    return csv_download(f"rejected-rows-{import_id}", ("row", "email", "error"), contact_import.rejections or [])


@bp.get("/export.csv")
def export_csv():
    return csv_download("contacts", (*imports.EXPORT_COLUMNS, *imports.attribute_names()), imports.export_rows())


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    """How emails address a contact: name, first name (the greeting) and language (the catalog)."""
    contact = db.get_or_404(Contact, contact_id)
    form, status = FlaskForm(), 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            contacts.update_contact(contact, **{name: request.form.get(name, "") for name in contacts.NAMING_FIELDS})
            flash("Contact saved.", "ok")
            return redirect(url_for(".edit", contact_id=contact.id), code=303)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.detail, "error")
            status = exc.status
    return render_template("contacts/edit.html", contact=db.get_or_404(Contact, contact_id), form=form,
                           languages=available_languages()), status
