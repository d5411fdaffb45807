"""The editable taxonomy and re-classification of past answers, through the page, the API and the job."""

from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.classify import reclassify
from vocloop.classify.models import ReclassifyRun, Topic
from vocloop.contacts.models import Account
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response


def answers(client, drain, comments: list[tuple[int, str]]) -> list[Response]:
    """Answered, classified and routed (to the fallback owner) responses."""
    from vocloop.accounts.models import User

    if db.session.scalar(select(User).where(User.email == "triage@example.com")) is None:
        make_user("triage@example.com", role="admin")
    survey = make_survey()
    for i, (score, comment) in enumerate(comments):
        answer(client, make_invitation(survey, make_contact(f"c{i}@customer.example")), score, comment)
    drain()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def page_token(client) -> str:
    return csrf_from(client.get("/topics/").get_data(as_text=True))


def test_an_answer_is_stored_with_its_classification(app, client, drain):
    make_user("admin@example.com", role="admin")
    account_contact = make_contact("big@customer.example", account="Globex")
    db.session.scalar(select(Account)).annual_value = 120000
    db.session.commit()
    answer(client, make_invitation(make_survey(), account_contact), 9,
           "Terrible, I was charged twice and we are cancelling our subscription.")
    drain()
    response = db.session.scalar(select(Response))
    assert response.classifier == "vocloop-sentiment-1" and response.classified_at is not None
    assert response.sentiment_label == "negative" and 0.5 <= response.sentiment_confidence <= 1
    assert response.sentiment_mismatch  # a 9 with an angry comment
    assert response.urgency_flags == ["churn", "billing"] and response.urgent
    assert "billing" in response.topics
    item = db.session.scalar(select(FeedbackItem))
    assert item.priority == "P1"  # urgent (P2), raised one level for a high-value account
    login(client, "admin@example.com")
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "churn risk" in page and "billing error" in page and "score and words disagree" in page


def test_a_lead_edits_the_taxonomy_and_reclassifies_past_answers(app, client, drain):
    make_user("lead@example.com", role="lead", team="CX")
    responses = answers(client, drain, [(3, "The Android app logs me out every day"),
                                        (4, "The iOS app is slow"), (9, "Lovely people")])
    item_before = {i.id: (i.priority, i.owner_id, i.close_due_at) for i in db.session.scalars(select(FeedbackItem))}
    assert all("mobile app" not in r.topics for r in responses)
    for response in responses:  # as labelled by an older classifier
        response.classifier = "textblob-0.20-pattern"
    classified_before = {r.id: r.classified_at for r in responses}
    db.session.commit()
    login(client, "lead@example.com")

    added = client.post("/topics/", data={"csrf_token": page_token(client), "name": "Mobile App",
                                          "keywords": "android, ios app\nmobile"})
    assert added.status_code == 303
    topic = db.session.scalar(select(Topic).where(Topic.name == "mobile app"))
    assert topic.keywords == ["android", "ios app", "mobile"]
    page = client.get("/topics/").get_data(as_text=True)
    assert "past answers keep their old topics" in page

    duplicate = client.post("/topics/", data={"csrf_token": page_token(client), "name": "mobile app",
                                              "keywords": "phone"})
    assert duplicate.status_code == 409 and "exists" in duplicate.get_data(as_text=True)
    assert 'value="mobile app"' in duplicate.get_data(as_text=True)  # the form keeps what was typed
    empty = client.post(f"/topics/{topic.id}", data={"csrf_token": page_token(client), "name": "mobile app",
                                                     "keywords": " , "})
    assert empty.status_code == 422
    db.session.expire_all()
    assert db.session.get(Topic, topic.id).keywords == ["android", "ios app", "mobile"]  # nothing lost
    assert client.post("/topics/", data={"name": "x", "keywords": "y"}).status_code == 400  # no CSRF token

    started = client.post("/topics/reclassify", data={"csrf_token": page_token(client)})
    assert started.status_code == 303
    drain()
    run = db.session.scalar(select(ReclassifyRun))
    assert (run.status, run.total, run.done, run.changed) == ("finished", 3, 3, 2)
    db.session.expire_all()
    topics_now = [r.topics for r in db.session.scalars(select(Response).order_by(Response.id))]
    assert "mobile app" in topics_now[0] and "mobile app" in topics_now[1] and "mobile app" not in topics_now[2]
    for response in db.session.scalars(select(Response)):  # each answer says which classifier labelled it, when
        assert response.classifier == run.classifier == "vocloop-sentiment-1"
        assert response.classified_at > classified_before[response.id]
    item_after = {i.id: (i.priority, i.owner_id, i.close_due_at) for i in db.session.scalars(select(FeedbackItem))}
    assert item_after == item_before  # labels change; owners, priorities and due times do not
    for item in db.session.scalars(select(FeedbackItem)):  # the item's copies, which metrics group by, follow
        assert (item.topics, item.sentiment_label) == (item.response.topics, item.response.sentiment_label)
    assert any("mobile app" in item.topics for item in db.session.scalars(select(FeedbackItem)))
    page = client.get("/topics/").get_data(as_text=True)
    assert "finished" in page and "3 of 3" in page and "past answers keep their old topics" not in page

    deleted = client.post(f"/topics/{topic.id}/delete", data={"csrf_token": page_token(client)})
    assert deleted.status_code == 303
    assert db.session.scalar(select(Topic.id).where(Topic.id == topic.id)) is None


def test_a_killed_run_resumes_after_its_last_batch_and_counts_each_answer_once(app, client, drain):
    make_user("lead@example.com", role="lead")
    answers(client, drain, [(2, f"Invoice number {i} was wrong") for i in range(7)])
    run, started = reclassify.start_run(None)
    assert started and run.total == 7
    assert reclassify.start_run(None) == (run, False)  # one run at a time
    first_three = db.session.scalars(select(Response.id).order_by(Response.id).limit(3)).all()
    run.status, run.done, run.last_response_id = "running", 3, first_three[-1]  # as a killed worker left it
    db.session.commit()
    finished = reclassify.run_batches(run.id, batch_size=2)
    assert (finished.status, finished.done, finished.total) == ("finished", 7, 7)
    assert reclassify.run_batches(run.id).done == 7  # a duplicate job finds nothing left to do
    resumed = db.session.scalars(select(Response.classified_at).where(Response.id.not_in(first_three))).all()
    assert all(stamp is not None for stamp in resumed)


def test_a_stalled_run_is_picked_up_by_the_sweep(app, client, drain):
    from datetime import timedelta

    from vocloop.db import utcnow
    from vocloop.jobs import tasks

    answers(client, drain, [(2, "Bad billing")])
    run, _ = reclassify.start_run(None)  # never enqueued: as if Redis was down at that moment
    run.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert tasks.sweep()["reclassify_resumed"] == 1
    drain()
    db.session.expire_all()
    assert db.session.get(ReclassifyRun, run.id).status == "finished"


def test_the_topics_api(app, client, drain):
    lead = make_user("lead@example.com", role="lead")
    owner = make_user("owner@example.com")
    lead_headers, owner_headers = api_token(lead), api_token(owner)
    listed = client.get("/api/v1/topics", headers=owner_headers)
    assert listed.status_code == 200 and [t["name"] for t in listed.json][:2] == ["pricing", "billing"]
    assert client.post("/api/v1/topics", json={"name": "app", "keywords": ["app"]},
                       headers=owner_headers).status_code == 403

    created = client.post("/api/v1/topics", json={"name": "Mobile app", "keywords": ["Android", "iOS app"]},
                          headers=lead_headers)
    assert created.status_code == 201 and created.json["keywords"] == ["android", "ios app"]
    duplicate = client.post("/api/v1/topics", json={"name": "mobile app", "keywords": ["x"]}, headers=lead_headers)
    assert duplicate.status_code == 409 and duplicate.json["status"] == 409
    invalid = client.post("/api/v1/topics", json={"name": "empty", "keywords": []}, headers=lead_headers)
    assert invalid.status_code == 422 and "keywords" in invalid.get_data(as_text=True)
    patched = client.patch(f"/api/v1/topics/{created.json['id']}", json={"keywords": ["mobile"]},
                           headers=lead_headers)
    assert patched.status_code == 200 and patched.json["keywords"] == ["mobile"]
    assert client.patch("/api/v1/topics/999999", json={"keywords": ["a"]}, headers=lead_headers).status_code == 404

    answers(client, drain, [(3, "The mobile version is clunky")])
    run = client.post("/api/v1/topics/reclassify", headers=lead_headers)
    assert run.status_code == 202
    drain()
    progress = client.get(f"/api/v1/topics/reclassify/{run.json['id']}", headers=lead_headers)
    assert progress.json["status"] == "finished" and progress.json["percent"] == 100
    db.session.expire_all()
    assert "mobile app" in db.session.scalar(select(Response)).topics
    assert client.delete(f"/api/v1/topics/{created.json['id']}", headers=lead_headers).status_code == 204


def test_an_answers_topics_come_with_the_words_that_matched_on_the_item_page_and_in_the_api(app, client, drain):
    """Issue #21: "the plane was filthy" is not pricing, and each topic shows the phrase that gave it."""
    from tests.integration.test_inbox import item_for_dana

    item, dana = item_for_dana(client, drain, comment="The plane was filthy and both invoices were wrong.")
    response = db.session.get(Response, item.response_id)
    assert response.topics == ["billing"]
    assert response.topic_matches == [{"topic": "billing", "keyword": "invoice", "phrase": "invoices"}]
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert 'billing <q class="muted small" title="the words that gave this topic">invoices</q>' in html
    assert "pricing" not in html.split("topics:")[1].split("</p>")[0]
    body = client.get(f"/api/v1/responses/{response.id}", headers=api_token(dana)).get_json()
    assert body["topic_matches"] == [{"topic": "billing", "keyword": "invoice", "phrase": "invoices"}]
    # A re-classification keeps the phrases in step with a changed taxonomy.
    topic = db.session.scalar(select(Topic).where(Topic.name == "billing"))
    topic.keywords = ["wrong invoice", "invoices were wrong"]
    db.session.commit()
    run, _ = reclassify.start_run(None)
    reclassify.run_batches(run.id)
    db.session.expire_all()
    assert db.session.get(Response, response.id).topic_matches == [
        {"topic": "billing", "keyword": "invoices were wrong", "phrase": "invoices were wrong"}]
