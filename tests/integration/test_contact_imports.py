"""Contact CSV import and export: 10,000 rows with bad ones, from the command line and the Contacts
page, a report of every rejected row, a killed import resumed, and an export that imports back."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.factories import csrf_from, login, make_contact, make_user
from vocloop.contacts import imports
from vocloop.contacts.models import Contact, ContactImport, ContactList, list_members
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.jobs import tasks


def big_csv(rows: int = 10_000) -> tuple[bytes, dict[int, str]]:
    """Contacts with a bad row now and then; returns the file and {spreadsheet row: expected reason}."""
    lines, bad = ["email,name,external_id,plan,account_name,account_annual_value"], {}
    for i in range(rows):
        row = i + 2
        if i % 997 == 5:
            lines.append(f"not-an-email-{i},Bad,,pro,,")
            bad[row] = "Not a valid email address"
        elif i % 1009 == 7:
            lines.append(",No email,,pro,,")
            bad[row] = "email is missing"
        elif i % 1013 == 9:
            lines.append(f"v{i}@customer.example,Value,,pro,Firm,lots")
            bad[row] = "account_annual_value is not a whole number"
        else:
            lines.append(f"c{i}@customer.example,Customer {i},crm-{i},{'pro' if i % 2 else 'free'},Firm {i % 40},1000")
    return ("\n".join(lines) + "\n").encode(), bad


def contacts() -> int:
    return db.session.scalar(select(func.count()).select_from(Contact))


def test_the_cli_imports_10000_rows_and_reports_each_rejected_row(app, tmp_path):
    data, bad = big_csv()
    source, rejects = tmp_path / "contacts.csv", tmp_path / "rejects.csv"
    source.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["contacts-import", str(source), "--list", "Q4 renewals",
                                                "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "Importing 10000 rows" in result.output
    assert f"{10_000 - len(bad)} created, 0 updated, 0 unchanged, {len(bad)} rejected." in result.output
    assert contacts() == 10_000 - len(bad)
    with rejects.open(encoding="utf-8") as report:
        rows = list(csv.DictReader(report))
    assert {int(row["row"]): row["error"] for row in rows}.keys() == bad.keys()
    assert all(bad[int(row["row"])] in row["error"] for row in rows)
    q4 = db.session.scalar(select(ContactList).where(ContactList.name == "Q4 renewals"))
    assert db.session.scalar(select(func.count()).select_from(list_members).where(
        list_members.c.list_id == q4.id)) == 10_000 - len(bad)
    ann = db.session.scalar(select(Contact).where(Contact.external_id == "crm-11"))
    assert ann.attributes == {"plan": "pro"} and ann.account.name == "Firm 11" and ann.account.annual_value == 1000
    again = app.test_cli_runner().invoke(args=["contacts-import", str(source)])
    assert f"0 created, 0 updated, {10_000 - len(bad)} unchanged, {len(bad)} rejected." in again.output


def test_an_import_never_resubscribes_anyone(app):
    ann = make_contact("ann@customer.example")
    ann.unsubscribed_at = utcnow()
    db.session.commit()
    done = imports.process_import(imports.start_import(None, "x.csv", b"email,name\nann@customer.example,Ann B\n").id)
    assert done.updated == 1
    db.session.refresh(ann)
    assert ann.name == "Ann B" and ann.unsubscribed_at is not None


def test_a_killed_import_is_resumed_by_the_sweep_without_doubles(app, drain):
    data, bad = big_csv(2_000)
    contact_import = imports.start_import(None, "big.csv", data)

    def crash(_rows):
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        imports.process_import(contact_import.id, progress=crash)
    db.session.refresh(contact_import)
    assert contact_import.status == "running" and contact_import.processed_rows == imports.BATCH
    assert imports.stalled_import_ids() == []  # its lease still runs
    db.session.execute(update(ContactImport).values(leased_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert tasks.sweep()["imports_resumed"] == 1
    drain()
    db.session.refresh(contact_import)
    assert contact_import.status == "done" and contact_import.content is None
    assert (contact_import.created, contact_import.rejected) == (2_000 - len(bad), len(bad))
    assert contacts() == 2_000 - len(bad)


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"name,phone\nAnn,123\n", "one of them 'email'"),
    (b"email\n", "no contacts"),
    (b"email,email\na@b.example,c@d.example\n", "same name"),
])
def test_a_file_that_cannot_be_imported_is_refused_before_anything_is_stored(app, data, message):
    with pytest.raises(Invalid, match=message):
        imports.start_import(None, "bad.csv", data)
    assert db.session.scalar(select(ContactImport.id)) is None


def test_leads_import_on_the_contacts_page_and_read_the_rejected_rows(app, client, drain):
    make_user("lead@example.com", role="lead")
    login(client, "lead@example.com")
    page = client.get("/contacts/")
    token = csrf_from(page.get_data(as_text=True))
    small = b"email,name,plan\nann@customer.example,Ann,pro\nnope,Bad,pro\n"
    sent = client.post("/contacts/imports", data={"csrf_token": token, "list_name": "Pilot",
                                                  "file": (io.BytesIO(small), "pilot.csv")},
                       content_type="multipart/form-data")
    assert sent.status_code == 303
    report = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "1 created" in report and "1 rejected" in report and "Not a valid email address" in report
    data, bad = big_csv(3_000)  # more than an upload imports at once: a job does it
    sent = client.post("/contacts/imports", data={"csrf_token": token, "file": (io.BytesIO(data), "big.csv")},
                       content_type="multipart/form-data")
    drain()
    big = db.session.scalar(select(ContactImport).where(ContactImport.filename == "big.csv"))
    assert big.status == "done" and big.rejected == len(bad)
    rejected = client.get(f"/contacts/imports/{big.id}/rejected.csv").get_data(as_text=True)
    assert len(rejected.strip().splitlines()) == len(bad) + 1
    refused = client.post("/contacts/imports", data={"csrf_token": token, "file": (io.BytesIO(b"\xff"), "x.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "not UTF-8" in refused.get_data(as_text=True)


def test_owners_cannot_see_or_import_contacts(app, client):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    assert client.get("/contacts/").status_code == 403
    assert client.get("/contacts/export.csv").status_code == 403


def test_the_export_imports_back_unchanged_and_defuses_formulas(app, client):
    make_user("lead@example.com", role="lead")
    imports.process_import(imports.start_import(
        None, "x.csv", b"email,name,external_id,plan,region\nann@customer.example,=HYPERLINK(1),a1,pro,EU\n"
                       b"bob@customer.example,Bob,,free,\n").id)
    login(client, "lead@example.com")
    exported = client.get("/contacts/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["plan"] == "pro" and rows[0]["region"] == "EU"
    assert rows[1]["region"] == ""
    # Spreadsheets drop the quote that defused the formula when the file is saved again.
    back = imports.process_import(imports.start_import(None, "back.csv", exported.replace("'=", "=").encode()).id)
    assert (back.created, back.updated, back.unchanged, back.rejected) == (0, 0, 2, 0)
