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


def test_the_templates_page_lists_templates_by_name_and_topics_in_the_taxonomys_order(app, client):
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    for name in ("Zero downtime", "Apology", "Moved to billing"):
        client.post("/api/v1/closing-templates", headers=api_token(lee), json={"name": name, "body": "Hi {first_name}"})
    login(client, "lee@example.com")
    html = client.get("/templates/").get_data(as_text=True)
    assert re.findall(r'<h2 id="template-\d+-name">([^<]+)</h2>', html) == ["Apology", "Moved to billing",
                                                                            "Zero downtime"]
    picker = re.search(r'<select id="template-topic".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', picker)[:4] == ["pricing", "billing", "support", "product quality"]


def test_a_template_about_a_topic_since_renamed_can_still_be_changed(app, client):
    """The form sends back the topic the template names; a topic renamed since does not block the change."""
    from vocloop.classify.models import Topic
    from vocloop.classify.topics import update_topic

    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    login(client, "lee@example.com")
    submit(client, "/templates/", "/templates/", {"name": "Bug fixed", "body": "Hi {first_name}, fixed.",
                                                  "topic": "bugs"})
    update_topic(db.session.scalar(select(Topic.id).where(Topic.name == "bugs")), name="defects")
    template = db.session.scalar(select(ClosingTemplate.id))
    edit = f"/templates/{template}/edit"
    assert "bugs (no longer a topic)" in client.get(edit).get_data(as_text=True)
    saved = submit(client, edit, f"/templates/{template}", {"name": "Bug fixed", "body": "Hi {first_name}, all fixed.",
                                                            "topic": "bugs"})
    assert saved.status_code == 303 and stored() == {"Bug fixed": ("Hi {first_name}, all fixed.", None, "bugs")}
    submit(client, edit, f"/templates/{template}", {"name": "Bug fixed", "body": "Hi {first_name}, all fixed.",
                                                    "topic": ""})
    assert stored() == {"Bug fixed": ("Hi {first_name}, all fixed.", None, None)}  # now for every topic


def test_each_example_reads_as_the_sample_customer_of_its_survey_or_else_of_the_survey_answered_now(app, client):
    """A template for every survey is shown for the first survey customers can answer now (a paused one
    comes after), a template for one survey for that survey: its title and a low score on its scale;
    before any survey exists, "our survey" and 4."""
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    body = "Thanks for the {score} on {survey_title} ({survey_name}), {first_name}."
    login(client, "lee@example.com")

    def example(fields):
        shown = submit(client, "/templates/", "/templates/", {"name": "Thanks", "body": body, **fields,
                                                              "intent": "example"})
        return re.search(r'<blockquote class="example"[^>]*>(.*?)</blockquote>', shown.get_data(as_text=True)).group(1)

    assert example({}) == "Thanks for the 4 on our survey (our survey), Maria."
    paused = make_survey(title="Your year with Acme")
    paused.active = False
    db.session.commit()
    make_survey("csat", name="Support CSAT", title="How did we do?")
    assert example({}) == "Thanks for the 2 on How did we do? (How did we do?), Maria."
    assert example({"survey_id": str(paused.id)}) == ("Thanks for the 4 on Your year with Acme (Your year with Acme), "
                                                      "Maria.")
    client.post("/api/v1/closing-templates", headers=api_token(lee), json={"name": "Paused", "body": body,
                                                                           "survey_id": paused.id})
    client.post("/api/v1/closing-templates", headers=api_token(lee), json={"name": "Any", "body": body})
    listed = client.get("/templates/").get_data(as_text=True)
    assert "Thanks for the 4 on Your year with Acme" in listed and "Thanks for the 2 on How did we do?" in listed


def test_the_api_names_every_problem_of_a_template_at_once_and_a_missing_template_in_words(app, client):
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    headers = api_token(lee)

    def refused(fields, status=422):
        answer = client.post("/api/v1/closing-templates", headers=headers, json={"name": "Thanks", **fields})
        assert answer.status_code == status, answer.json
        return answer.json["detail"]

    assert refused({"name": " ", "body": "  "}) == ("Give the template a name owners will recognise in the picker. "
                                                    "Write the message: a template needs a body.")
    assert refused({"body": "Hi {nick} {x}"}) == ("Unknown placeholder(s): {nick}, {x}; use {first_name}, {name}, "
                                                  "{owner_name}, {survey_title}, {survey_name}, {score}.")
    assert refused({"body": "Hi", "topic": "nope"}) == (
        "No topic is called “nope”: choose one of pricing, billing, support, product quality, bugs, delivery, "
        "onboarding, usability, documentation, staff, or leave it blank for every topic.")
    assert refused({"body": "Hi", "survey_id": 4242}, status=404) == "No such survey."
    made = client.post("/api/v1/closing-templates", headers=headers,
                       json={"name": "Quality", "body": "Hi", "topic": "  Product   QUALITY "})
    assert made.status_code == 201 and made.json["topic"] == "product quality"
    missing = client.get("/api/v1/closing-templates/4242", headers=headers)
    assert missing.status_code == 404 and missing.json["detail"] == "No such closing template."


def test_a_template_holds_the_10000_characters_and_its_name_the_120_the_form_allows(app, client):
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    login(client, "lee@example.com")
    longest = submit(client, "/templates/", "/templates/", {"name": "N" * 120, "body": "x" * 10_000})
    assert longest.status_code == 303 and stored() == {"N" * 120: ("x" * 10_000, None, None)}
    html = unescape(submit(client, "/templates/", "/templates/", {"name": "N" * 121, "body": "x" * 10_001})
                    .get_data(as_text=True))
    assert "A template's name is at most 120 characters." in html
    unnamed = submit(client, "/templates/", "/templates/", {"name": "", "body": "Hi"})
    assert unnamed.status_code == 422 and "Give the template a name" in unnamed.get_data(as_text=True)
    assert "The message is 10,001 characters long; a template holds at most 10,000." in html
