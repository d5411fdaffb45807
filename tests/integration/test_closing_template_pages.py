"""The Closing templates page: leads keep the templates owners start closing messages from, through the
same service as /api/v1/closing-templates; an owner picks one on the item page, without JavaScript."""

import re
from html import unescape

from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_invitation, make_survey, make_user
from vocloop.contacts.service import create_contact
from vocloop.extensions import db
from vocloop.items.models import ClosingTemplate, FeedbackItem
from vocloop.routing.service import create_rule


def stored():
    db.session.rollback()
    return {t.name: (t.body, t.survey_id, t.topic) for t in db.session.scalars(select(ClosingTemplate))}


def submit(client, page, action, fields):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **fields})


def test_a_lead_keeps_templates_and_an_owner_starts_a_message_from_one(app, client, drain):
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey(title="How are we doing?")
    other = make_survey("csat", name="Support CSAT")
    ann = create_contact(email="ann@customer.example", name="Ann Smith", first_name="Ann")
    answer(client, make_invitation(survey, ann), 3, "The export crashes every time")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    assert "bugs" in item.response.topics

    login(client, "dana@example.com")
    assert client.get("/templates/").status_code == 403
    assert "Manage templates" not in client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    login(client, "lee@example.com")
    empty = unescape(client.get("/templates/").get_data(as_text=True))
    assert 'href="/templates/"' in empty and "No templates yet" in empty
    assert "{first_name}" in empty and "the customer's first name" in empty and "e.g. Maria" in empty

    # Every problem beside its field, everything typed kept, nothing stored.
    typed = "Hi {nickname}, thanks for the {score}."
    refused = submit(client, "/templates/", "/templates/", {"name": " ", "body": typed, "topic": "nope",
                                                            "survey_id": str(survey.id)})
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "Nothing was saved." in html
    assert 'id="problem-name"' in html and "Unknown placeholder(s): {nickname}" in html
    assert "No topic is called “nope”" in html and typed in html and stored() == {}
    assert f'<option value="{survey.id}" selected>' in html

    # "Show example" fills the placeholders for the sample customer and saves nothing.
    body = "Hi {first_name},\n\nThanks for the {score} on {survey_title}: the <b>crash</b> is fixed.\n\n{owner_name}"
    shown = submit(client, "/templates/", "/templates/", {"name": "Crash fixed", "body": body, "topic": "bugs",
                                                          "survey_id": str(survey.id), "intent": "example"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and stored() == {}
    assert "Hi Maria,\n\nThanks for the 4 on How are we doing?: the &lt;b&gt;crash&lt;/b&gt; is fixed.\n\nLee" in html

    added = submit(client, "/templates/", "/templates/", {"name": "Crash fixed", "body": body, "topic": "bugs",
                                                          "survey_id": str(survey.id)})
    assert added.status_code == 303
    assert stored() == {"Crash fixed": (body, survey.id, "bugs")}
    assert "Template “Crash fixed” added" in unescape(client.get(added.location).get_data(as_text=True))
    submit(client, "/templates/", "/templates/", {"name": "Any <i>CSAT</i>", "body": "Dear {name}",
                                                  "survey_id": str(other.id)})
    listed = client.get("/templates/").get_data(as_text=True)
    assert "For answers to NPS survey · about bugs" in listed and "Any &lt;i&gt;CSAT&lt;/i&gt;" in listed
    assert "Dear Maria Lopez" in listed  # each template with its own example
    crash = db.session.scalar(select(ClosingTemplate.id).where(ClosingTemplate.name == "Crash fixed"))

    # A refused change keeps the template as it was; a good one changes it.
    edit = f"/templates/{crash}/edit"
    assert "Hi Maria," in client.get(edit).get_data(as_text=True)
    refused = submit(client, edit, f"/templates/{crash}", {"name": "Crash fixed", "body": "", "topic": "bugs"})
    assert refused.status_code == 422 and "a template needs a body" in refused.get_data(as_text=True)
    assert stored()["Crash fixed"] == (body, survey.id, "bugs")
    changed = body.replace("is fixed", "is fixed in 4.2")
    submit(client, edit, f"/templates/{crash}", {"name": "Crash fixed", "body": changed, "topic": "bugs",
                                                    "survey_id": str(survey.id)})
    assert stored()["Crash fixed"] == (changed, survey.id, "bugs")

    # The API changes the same templates through the same checks.
    headers = api_token(lee)
    bad = client.patch(f"/api/v1/closing-templates/{crash}", headers=headers, json={"body": "{nick}"})
    assert bad.status_code == 422 and "{nick}" in bad.json["detail"] and stored()["Crash fixed"][0] == changed
    patched = client.patch(f"/api/v1/closing-templates/{crash}", headers=headers, json={"name": "Crash fixed!"})
    assert patched.status_code == 200 and patched.json["body"] == changed and patched.json["topic"] == "bugs"
    assert client.get(f"/api/v1/closing-templates/{crash}", headers=headers).json["name"] == "Crash fixed!"

    # The owner picks it on the item page; the page reloads with the message box filled (no JavaScript).
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    html = client.get(page).get_data(as_text=True)
    assert ">Crash fixed!</option>" in html and "Any &lt;i&gt;CSAT" not in html  # only templates that fit
    picker = re.search(r'<select id="template-pick".*?</select>', html, re.S).group(0)
    assert '<option value="" selected>Choose a template…</option>' in picker  # none looks applied before one is
    assert picker.count(" selected") == 1 and "required" in picker.split(">")[0]
    filled = unescape(client.get(f"{page}?template={crash}").get_data(as_text=True))
    assert ("Hi Ann,\n\nThanks for the 3 on How are we doing?: the <b>crash</b> is fixed in 4.2.\n\nDana</textarea>"
            in filled)
    assert f'<option value="{crash}" selected>' in filled and "Filled from the template “Crash fixed!”" in filled
    assert '<option value="" >Choose a template…</option>' in filled
    unfit = client.get(f"{page}?template={crash + 1}").get_data(as_text=True)
    assert "That template does not fit this item" in unfit and "Thank you for your feedback." in unfit

    login(client, "lee@example.com")
    submit(client, "/templates/", f"/templates/{crash}/delete", {})
    assert set(stored()) == {"Any <i>CSAT</i>"}
    assert client.get(f"/api/v1/closing-templates/{crash}", headers=headers).status_code == 404


def test_a_template_fills_in_the_customers_own_words_where_the_survey_has_no_title_or_they_no_name(
        app, client, drain):
    """{survey_title} (and {survey_name}, of templates written before titles) of an untitled survey is
    "our survey" in the language the customer reads (their own, else the survey's); {first_name} and
    {name} of a nameless customer are "there" in English and left out in other languages ("Hallo," not
    "Hallo there,")."""
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey()
    assert survey.title is None
    answer(client, make_invitation(survey, create_contact(email="x@customer.example")), 3, "Slow")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    body = "Hi {first_name} ({name}), thanks for answering {survey_title} ({survey_name})."
    template = client.post("/api/v1/closing-templates", headers=api_token(lee),
                           json={"name": "Thanks", "body": body}).json
    login(client, "dana@example.com")

    def filled():
        return unescape(client.get(f"/inbox/items/{item.id}?template={template['id']}").get_data(as_text=True))

    assert "Hi there (there), thanks for answering our survey (our survey)." in filled()
    for contact_language, survey_language in (("de", "en"), (None, "de")):
        item.contact.language, survey.language = contact_language, survey_language
        db.session.commit()
        assert "Hi, thanks for answering unsere Umfrage (unsere Umfrage)." in filled(), contact_language
    template_row = db.session.get(ClosingTemplate, template["id"])
    template_row.body = "Hallo {first_name},\n\nDanke, {name}, für Ihre {score}.\n\n{owner_name}"
    db.session.commit()
    assert "Hallo,\n\nDanke, für Ihre 3.\n\nDana</textarea>" in filled()


def test_an_item_offers_every_template_that_fits_it_the_most_specific_first(app, client, drain):
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey, other = make_survey(), make_survey("csat", name="Support CSAT")
    answer(client, make_invitation(survey, create_contact(email="ann@customer.example")), 3,
           "The export crashes every time")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    assert "bugs" in item.response.topics and "billing" not in item.response.topics
    for name, survey_id, topic in [("any answer", None, None), ("Any bug", None, "bugs"),
                                   ("this survey", survey.id, None), ("This survey's bugs", survey.id, "bugs"),
                                   ("another survey", other.id, None), ("billing", None, "billing"),
                                   ("a bug", None, "bugs")]:
        made = client.post("/api/v1/closing-templates", headers=api_token(lee),
                           json={"name": name, "body": "Hi {first_name}", "survey_id": survey_id, "topic": topic})
        assert made.status_code in (200, 201), made.json
    login(client, "dana@example.com")
    page = unescape(client.get(f"/inbox/items/{item.id}").get_data(as_text=True))
    offered = [name for name in re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)
               if name in {"any answer", "Any bug", "this survey", "This survey's bugs", "another survey",
                           "billing", "a bug"}]
    assert offered == ["This survey's bugs", "this survey", "a bug", "Any bug", "any answer"]
