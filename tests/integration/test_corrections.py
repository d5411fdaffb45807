"""The team's own labels (issue #21): an owner corrects an answer's sentiment and topics in one click on
the item page or through the API, the correction is kept with who and when, re-classification keeps it,
and a team imports its labelled history from a CSV, bad rows listed and the good ones kept."""

from sqlalchemy import select

from tests.factories import api_token, csrf_from, login, make_user
from tests.integration.test_inbox import fresh, item_for_dana
from vocloop.classify import reclassify
from vocloop.classify.corrections import labelled_texts
from vocloop.classify.models import Correction
from vocloop.extensions import db
from vocloop.responses.models import Response


def click(client, item_id, **fields):
    page = f"/inbox/items/{item_id}"
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(f"{page}/correct", data={"csrf_token": token, **fields})


def test_an_owner_corrects_sentiment_and_a_topic_in_one_click_each_and_it_is_kept(app, client, drain):
    item, dana = item_for_dana(client, drain, comment="The plane was filthy but the invoice was fine")
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert 'name="label" value="positive"' in html and 'name="toggle_topic" value="delivery"' in html
    assert click(client, item.id, label="neutral").status_code == 303
    response = db.session.get(Response, item.response_id)
    db.session.refresh(response)
    assert response.sentiment_label == "neutral" and fresh(item.id).sentiment_label == "neutral"
    click(client, item.id, toggle_topic="delivery")
    click(client, item.id, toggle_topic="billing")
    db.session.expire_all()
    response = db.session.get(Response, item.response_id)
    assert response.topics == ["delivery"] and fresh(item.id).topics == ["delivery"]
    assert response.topic_matches == []  # billing's phrase went with billing; delivery came from a person
    done = db.session.scalars(select(Correction).order_by(Correction.id)).all()
    assert [(c.label, c.topics, c.source, c.user_id) for c in done] == [
        ("neutral", None, "page", dana.id), (None, ["billing", "delivery"], "page", dana.id),
        (None, ["delivery"], "page", dana.id)]
    assert all(c.created_at is not None for c in done)
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "Corrected: sentiment neutral, topics delivery" in html and "Corrected by Dana" in html
    # A re-classification (the taxonomy changed, or a new model) keeps what a person said.
    run, _ = reclassify.start_run(None)
    reclassify.run_batches(run.id)
    db.session.expire_all()
    response = db.session.get(Response, item.response_id)
    assert (response.sentiment_label, response.topics) == ("neutral", ["delivery"])
    assert fresh(item.id).topics == ["delivery"]
    assert [(t.text, t.label) for t in labelled_texts()] == [
        ("The plane was filthy but the invoice was fine", "neutral")]


def test_only_those_who_work_the_item_correct_it(app, client, drain):
    item, _ = item_for_dana(client, drain)
    make_user("omar@example.com", name="Omar", team="Sales")
    login(client, "omar@example.com")
    click(client, item.id, label="positive")
    assert db.session.scalar(select(Correction)) is None


def test_corrections_through_the_api_are_typed_and_listed(app, client, drain):
    item, dana = item_for_dana(client, drain, comment="Support never answered")
    headers = api_token(dana)
    url = f"/api/v1/responses/{item.response_id}/corrections"
    made = client.post(url, json={"sentiment_label": "negative", "topics": ["support", "staff"]}, headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["sentiment_label"] == "negative" and body["topics"] == ["support", "staff"]
    assert body["source"] == "api" and body["user_id"] == dana.id and body["created_at"]
    assert client.post(url, json={"sentiment_label": "angry"}, headers=headers).status_code == 422
    assert client.post(url, json={}, headers=headers).status_code == 422
    unknown = client.post(url, json={"topics": ["weather"]}, headers=headers)
    assert unknown.status_code == 422 and "no topic named weather" in unknown.get_data(as_text=True)
    listed = client.get(url, headers=headers).get_json()
    assert [c["id"] for c in listed] == [body["id"]]
    answer = client.get(f"/api/v1/responses/{item.response_id}", headers=headers).get_json()
    assert answer["topics"] == ["support", "staff"] and answer["corrected_at"]
    stranger = make_user("omar@example.com", name="Omar", team="Sales")
    assert client.post(url, json={"sentiment_label": "positive"}, headers=api_token(stranger)).status_code == 404


def test_a_team_imports_its_labelled_history_bad_rows_listed_and_good_ones_kept(app, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "history.csv"
    good.write_text("Text,Label,Topics\n"
                    "\"Courier left it in the rain, soaked\",negative,delivery;product quality\n"
                    "Fine I guess,neutral,\n"
                    ",positive,\n"
                    "Great app,great,\n"
                    "Refund came in two days,positive,billing;Not a/topic!\n"
                    "Loved the crew,POSITIVE,cabin crew\n", encoding="utf-8")
    result = runner.invoke(args=["corrections", "import", str(good)])
    assert result.exit_code == 1
    assert "imported 3 labelled comment(s); 0 already imported; 3 row(s) refused" in result.output
    assert "line 4: the text is empty" in result.output
    assert "line 5: label 'great' is not one of negative, neutral, positive" in result.output
    assert "line 6: topic 'not a/topic!' is not a topic name" in result.output
    assert "topics not in the taxonomy (kept with the rows): cabin crew" in result.output
    stored = db.session.scalars(select(Correction).order_by(Correction.id)).all()
    assert [(c.text, c.label, c.topics, c.source) for c in stored] == [
        ("Courier left it in the rain, soaked", "negative", ["delivery", "product quality"], "import"),
        ("Fine I guess", "neutral", None, "import"), ("Loved the crew", "positive", ["cabin crew"], "import")]
    again = runner.invoke(args=["corrections", "import", str(good)])
    assert "imported 0 labelled comment(s); 3 already imported" in again.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("comment,sentiment\nhello,positive\n", encoding="utf-8")
    refused = runner.invoke(args=["corrections", "import", str(wrong)])
    assert refused.exit_code != 0 and "missing: text, label" in refused.output
    assert "nothing was imported" in refused.output
    assert db.session.scalar(select(Correction.id).order_by(Correction.id.desc())) == stored[-1].id
