"""The item page, built for the moment an owner opens it: the person's own story first (their
colleagues' folded away), times relative with the exact time on hover, sentiment in words, no risky
defaults, buttons that say which is the main action and which is dangerous, and every action on the
timeline and confirmed on screen."""

import re
from datetime import timedelta

from sqlalchemy import select

from tests.factories import answer, api_token, login, make_contact, make_invitation, make_survey, make_user
from tests.integration.test_inbox import fresh, item_for_dana, post_form
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response


def select_html(html: str, name: str) -> str:
    return re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)


def test_no_risky_defaults_hand_over_and_close_without_message_make_you_choose(app, client, drain):
    item, dana = item_for_dana(client, drain)
    make_user("omar@example.com", name="Omar", team="Support")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    html = client.get(page).get_data(as_text=True)
    owners = select_html(html, "owner_id")
    assert "selected" not in owners and 'value="" ' in owners or 'value="">' in owners  # a prompt, nobody chosen
    assert "required" in owners.split(">")[0]
    reasons = select_html(html, "discard-reason")
    assert "selected" not in reasons and ('value="">' in reasons or 'value="" ' in reasons)
    # Posting without a choice changes nothing and says why.
    refused = post_form(client, page, f"{page}/reassign", {"owner_id": "", "note": "Billing."})
    assert refused.status_code == 303 and fresh(item.id).owner_id == dana.id
    assert "Choose who takes the item over" in client.get(page).get_data(as_text=True)
    refused = post_form(client, page, f"{page}/discard", {"_prefix": "discard", "reason": "", "note": ""})
    assert fresh(item.id).status == "open"
    assert "Choose why the item closes without a message" in client.get(page).get_data(as_text=True)


def test_the_main_action_the_quiet_ones_and_the_dangerous_one_look_different(app, client, drain):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)

    def button_class(text):
        return re.search(rf'<button[^>]*class="([^"]*)"[^>]*>\s*{text}\s*</button>', html).group(1)

    assert button_class("Send closing message") == "primary"
    assert button_class("Preview") == button_class("Save draft") == "secondary"
    assert button_class("Close without message") == "danger"


def test_every_action_is_confirmed_on_screen_and_lands_on_the_timeline_and_in_the_api(app, client, drain):
    item, dana = item_for_dana(client, drain)
    omar = make_user("omar@example.com", name="Omar", team="Support")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/notes", {"_prefix": "note", "body": "Called her."})
    html = client.get(page).get_data(as_text=True)
    assert "Note added." in html
    assert "Status open → in progress." in html  # the note moved the item along: said on the timeline
    post_form(client, page, f"{page}/status", {"_prefix": "status", "status": "waiting"})
    html = client.get(page).get_data(as_text=True)
    assert "Status set to waiting." in html
    assert "Status in progress → waiting." in html
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Billing question."})
    assert "Handed over to Omar." in client.get(page).get_data(as_text=True)
    events = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(omar)).json
    kinds = [event["kind"] for event in (events if isinstance(events, list) else events["items"])]
    assert "note" in kinds and "status" in kinds and "reassigned" in kinds


def test_the_persons_own_story_comes_first_and_the_accounts_is_folded_away(app, client, drain):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey()
    colleague = make_contact("bob@globex.example", name="Bob Colleague", account="Globex")
    answer(client, make_invitation(survey, colleague), 9, "Colleague loves it.")
    ann = make_contact("ann@globex.example", name="Ann", account="Globex")
    answer(client, make_invitation(survey, ann), 2, "Support never answered.")
    drain()
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == ann.id))
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    own = html.index("Ann’s history") if "Ann’s history" in html else html.index("Ann's history")
    account = html.index("Others at Globex")
    assert own < account
    assert "Bob Colleague" in html[account:] and "Bob Colleague" not in html[own:account]
    assert re.search(r"<details[^>]*>\s*<summary>Others at Globex", html)  # folded away


def test_times_are_relative_with_the_exact_time_on_hover_and_sentiment_is_in_words(app, client, drain):
    item, _ = item_for_dana(client, drain, comment="This is terrible, awful, the worst support ever.")
    response = db.session.get(Response, item.response_id)
    response.answered_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    exact = response.answered_at.strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'<time datetime="[^"]+" title="{exact} UTC">3 hours ago</time>', html)
    assert "polarity" not in html.split("<details")[0] and "subjectivity" not in html.split("<details")[0]
    assert "strongly negative" in html


def test_the_activity_says_what_happened_in_words_not_the_events_internal_kinds(app, client, drain):
    """The SLA watch's entries read "closing message due soon", "first action missed its deadline" and
    "closing message missed its deadline", not "sla warning" or "sla first action missed"; the API's
    events keep their kinds."""
    from vocloop.items.sla_watch import watch_sla

    item, dana = item_for_dana(client, drain)
    watch_sla(item.close_due_at - (item.close_due_at - item.created_at) * 0.05)  # nearly due: warned
    watch_sla(item.close_due_at + timedelta(hours=1))
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    activity = html[html.index("<h2>Activity</h2>"):]
    titles = re.findall(r"<li><strong>([^<]+)</strong>", activity)
    assert {"closing message due soon", "first action missed its deadline", "closing message missed its deadline",
            "opened", "assigned"} <= set(titles), titles
    assert not any("sla" in title or "_" in title for title in titles), titles
    kinds = {event["kind"] for event in client.get(f"/api/v1/items/{item.id}/events", headers=api_token(dana)).json}
    assert {"sla_warning", "sla_first_action_missed", "sla_breached", "created"} <= kinds


def test_a_closing_message_with_a_template_line_left_unfilled_is_refused_and_kept_in_its_box(app, client, drain):
    """Dana started from a template and forgot to replace its "…" line with what was done. Nothing goes to
    Ann: the page says which line is missing, her words are still in the box to finish, the item stays
    open. The same for a message too long to send: refused with the reason, the text kept."""
    from vocloop.mail.models import Message

    item, dana = item_for_dana(client, drain)
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    draft = "Hi Ann,\n\nThanks for telling us, and here is what we are doing about it:\n\n…\n\nJust reply if not."
    refused = post_form(client, page, f"{page}/close", {"_prefix": "close", "message": draft.replace("\n", "\r\n")})
    html = refused.get_data(as_text=True).replace("\r\n", "\n")  # as a browser posts a text box: CR LF
    assert refused.status_code == 422 and "still has a line to fill in" in html
    box = html.split('<textarea id="close-message"', 1)[1].split("</textarea>", 1)[0]
    assert "here is what we are doing about it:\n\n…\n\nJust reply if not." in box
    assert fresh(item.id).is_open and db.session.scalar(select(Message).where(Message.kind == "closing")) is None

    too_long = "Hi Ann,\n\n" + "We fixed it. " * 1000
    refused = post_form(client, page, f"{page}/close", {"_prefix": "close", "message": too_long})
    assert refused.status_code == 422 and "longer than 10000 characters" in refused.get_data(as_text=True)
    assert "We fixed it. We fixed it." in refused.get_data(as_text=True).split('<textarea id="close-message"', 1)[1]

    filled = draft.replace("\n…\n", "\nWe refunded the double charge today.\n")
    assert post_form(client, page, f"{page}/close", {"_prefix": "close", "message": filled}).status_code == 303
    assert not fresh(item.id).is_open
