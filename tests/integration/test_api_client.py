"""A client generated from the live spec by openapi-python-client (as an integrator would make one)
is fully typed, and drives the whole loop: contact, survey, invitation, the customer's answer, the
item, its closing message and the metrics that count it."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.factories import api_token, make_user
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox

# Objects whose keys are the customer's or the event's own, not the API's: free-form by design.
FREE_FORM = {
    "ContactInAttributes", "ContactOutAttributes", "AudienceAttributes",  # a CRM's custom attributes
    "RoutingConditionsAttributes",
    "EventOutData",  # per kind of timeline event
    "ProblemOutErrors",  # field -> messages, nested like the request body
    "WebhookDeliveryOutBody",  # the event posted to the receiver, exactly as sent
    "ContactExportOutContact", "ContactExportOutInvitationsItem", "ContactExportOutResponsesItem",
    "ContactExportOutItemsItem", "ContactExportOutEmailsItem", "ContactExportOutRepliesItem",  # a data export
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory, settings):
    """Generate the client once per module from the spec the app serves."""
    from vocloop import create_app

    app = create_app(settings)
    spec = app.test_client().get("/api/openapi.json").json
    folder = tmp_path_factory.mktemp("client")
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "config.yaml").write_text("post_hooks: []\nproject_name_override: vocloop_client\n"
                                        "package_name_override: vocloop_client\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate", "--path", "spec.json",
         "--config", "config.yaml", "--meta", "none", "--output-path", "vocloop_client"],
        cwd=folder, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and not line.startswith(("Generating", "If you believe"))]
    assert warnings == [], "\n".join(warnings)  # a schema the generator could not read: its pieces are missing
    sys.path.insert(0, str(folder))
    try:
        yield folder / "vocloop_client"
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.startswith("vocloop_client")]:
            del sys.modules[name]


def _class_attributes(source: str) -> list[tuple[str, str, str]]:
    found = []
    for match in re.finditer(r"^class (\w+)\b.*?:\n(.*?)(?=^    def |^class |\Z)", source, re.S | re.M):
        for line in match.group(2).splitlines():
            attribute = re.match(r"^    (\w+): (.+?)(?: = .*)?$", line)
            if attribute:
                found.append((match.group(1), attribute.group(1), attribute.group(2)))
    return found


def test_every_field_and_answer_of_the_generated_client_is_typed(generated):
    untyped = [f"{cls}.{name}: {annotation}"
               for path in sorted((generated / "models").glob("*.py"))
               for cls, name, annotation in _class_attributes(path.read_text())
               if "Any" in annotation and not (name == "additional_properties" and cls in FREE_FORM)]
    assert untyped == []
    for path in sorted((generated / "api").glob("*/[!_]*.py")):
        returned = re.search(r"^def sync\(.*?\) -> (.+?):$", path.read_text(), re.S | re.M).group(1)
        if "Any" in returned:  # only an empty 204 has no type to give
            assert path.name.startswith("delete_"), (path.name, returned)
            assert "response_204 = cast(Any, None)" in path.read_text(), path.name


def test_enums_and_errors_come_out_as_types(generated):
    models = importlib.import_module("vocloop_client.models")
    assert {member.value for member in models.ItemOutStatus} == {"open", "in_progress", "waiting", "closed"}
    assert {member.value for member in models.ItemOutPriority} == {"P1", "P2", "P3", "P4"}
    source = (generated / "api" / "api_v1_feedback" / "get_api_v1_items_item_id.py").read_text()
    for status in ("401", "403", "404", "429"):
        assert f"response.status_code == {status}" in source, status  # each error parsed as a ProblemOut


def test_the_loop_runs_through_the_generated_client(app, client, generated, sendgrid, drain):
    from vocloop_client import AuthenticatedClient
    from vocloop_client.api.api_v1 import (
        get_api_v1_metrics_closure,
        post_api_v1_surveys,
        post_api_v1_surveys_survey_id_invitations,
    )
    from vocloop_client.api.api_v1_directory import post_api_v1_contacts
    from vocloop_client.api.api_v1_feedback import get_api_v1_items, post_api_v1_items_item_id_close
    from vocloop_client.models import (
        CloseIn,
        ContactIn,
        InvitationsIn,
        ItemOutStatus,
        ProblemOut,
        SurveyIn,
        SurveyInKind,
    )

    admin = make_user("admin@example.com", name="Alex Admin", role="admin")
    token = api_token(admin)["Authorization"].split()[1]
    api = AuthenticatedClient(base_url="http://localhost", token=token, raise_on_unexpected_status=True)
    api.set_httpx_client(httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://localhost",
                                      headers={"Authorization": f"Bearer {token}"}))

    contact = post_api_v1_contacts.sync(client=api, body=ContactIn(email="ann@customer.example", name="Ann Lee"))
    survey = post_api_v1_surveys.sync(client=api, body=SurveyIn(name="Q4 NPS", kind=SurveyInKind.NPS,
                                                                 company="Acme"))
    sent = post_api_v1_surveys_survey_id_invitations.sync(survey.id, client=api,
                                                           body=InvitationsIn(contact_ids=[contact.id]))
    assert [invitation.contact_id for invitation in sent.invitations] == [contact.id]
    drain()  # with a worker, it sends the email; in-process, the outbox waits for the next line
    deliver_messages(outbox.take_queued_ids())
    [email] = [e for e in sendgrid.emails() if e.to == "ann@customer.example"]
    link = re.search(r"(/s/[^\s\"?]+)\?score=3", email.html).group(1)
    assert client.get(f"{link}?score=3").status_code == 200
    client.post(link, data={"score": "3", "comment": "The invoice was wrong twice."})
    drain()

    [item] = get_api_v1_items.sync(client=api)
    assert item.status is ItemOutStatus.OPEN and item.response.score == 3 and item.loop_closed is False
    closed = post_api_v1_items_item_id_close.sync(item.id, client=api,
                                                  body=CloseIn(message="Hi Ann, we refunded the invoice."))
    assert closed.status is ItemOutStatus.CLOSED
    drain()
    deliver_messages(outbox.take_queued_ids())
    drain()
    figures = get_api_v1_metrics_closure.sync(client=api)
    assert figures.opened == 1 and figures.loop_closed == 1

    missing = post_api_v1_items_item_id_close.sync_detailed(999_999, client=api, body=CloseIn(message="x"))
    assert missing.status_code == 404 and isinstance(missing.parsed, ProblemOut)
