"""The JSON API: tokens, one problem shape for errors, and objects checked per user."""

from sqlalchemy import select

from tests.factories import answer, api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import ApiToken
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.service import create_rule


def test_every_endpoint_needs_a_valid_token(app, client):
    lead = make_user("lead@example.com", role="lead")
    for method, path in [("post", "/api/v1/contacts"), ("post", "/api/v1/surveys"), ("get", "/api/v1/items"),
                         ("get", "/api/v1/items/1"), ("get", "/api/v1/metrics/closure"),
                         ("post", "/api/v1/routing-rules"), ("post", "/api/v1/surveys/1/invitations")]:
        for headers in ({}, {"Authorization": "Bearer vl_wrong"}, {"Authorization": "Basic abc"}):
            response = getattr(client, method)(path, headers=headers, json={})
            assert response.status_code == 401, (method, path)
            assert response.content_type == "application/problem+json"
            assert response.json["status"] == 401 and response.json["title"] == "Unauthorized"
    headers = api_token(lead)
    token = db.session.scalar(select(ApiToken))
    token.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/items", headers=headers).status_code == 401


def test_tokens_are_stored_only_as_hashes(app):
    headers = api_token(make_user("lead@example.com", role="lead"))
    raw = headers["Authorization"].split()[1]
    stored = db.session.scalar(select(ApiToken))
    assert raw not in stored.token_hash and len(stored.token_hash) == 64


def test_validation_errors_name_each_field(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    response = client.post("/api/v1/contacts", json={"email": "nope", "attributes": "x"}, headers=headers)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert set(response.json["errors"]) == {"email", "attributes"}
    bad_rule = client.post("/api/v1/routing-rules", headers=headers,
                           json={"name": "x", "action": "team", "conditions": {"mood": "bad"}})
    assert bad_rule.status_code == 422 and "unknown condition 'mood'" in bad_rule.json["detail"]


def test_creating_returns_the_object_with_its_id_and_conflicts_are_409(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    created = client.post("/api/v1/contacts", json={"email": "Ann@Customer.example", "name": "Ann"},
                          headers=headers)
    assert created.status_code == 201 and created.json["id"] > 0
    assert created.json["email"] == "ann@customer.example"
    again = client.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers)
    assert again.status_code == 409 and f"id {created.json['id']}" in again.json["detail"]


def test_owners_cannot_create_surveys_or_rules(app, client):
    headers = api_token(make_user("owner@example.com"))
    assert client.post("/api/v1/surveys", json={"name": "x", "kind": "nps"}, headers=headers).status_code == 403
    assert client.post("/api/v1/contacts", json={"email": "a@b.example"}, headers=headers).status_code == 403


def test_an_owner_cannot_read_or_close_another_teams_item_by_guessing_its_id(app, client, drain):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", team="Support")
    omar = make_user("omar@example.com", team="Billing")
    teammate = make_user("tess@example.com", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 1, "Awful")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    outsider = api_token(omar)
    for response in (client.get(f"/api/v1/items/{item.id}", headers=outsider),
                     client.post(f"/api/v1/items/{item.id}/close", json={"reason": "spam"}, headers=outsider)):
        assert response.status_code == 404 and response.json["title"] == "Not Found"
    assert client.get("/api/v1/items", headers=outsider).json == []
    assert client.get(f"/api/v1/items/{item.id}", headers=api_token(teammate)).status_code == 200
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).status == "open"


def test_close_needs_exactly_one_of_message_or_reason(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 1, "Awful")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    headers = api_token(admin)
    for body in ({}, {"message": "hi", "reason": "spam"}):
        assert client.post(f"/api/v1/items/{item.id}/close", json=body, headers=headers).status_code == 422
    closed = client.post(f"/api/v1/items/{item.id}/close", json={"reason": "duplicate"}, headers=headers)
    assert closed.status_code == 200 and closed.json["close_reason"] == "duplicate"
    assert closed.json["loop_closed"] is False
    again = client.post(f"/api/v1/items/{item.id}/close", json={"reason": "spam"}, headers=headers)
    assert again.status_code == 409


def test_items_paginate_by_cursor(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    for index in range(5):
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), 1, "Bad")
    drain()
    headers = api_token(admin)
    first = client.get("/api/v1/items?limit=2", headers=headers).json
    second = client.get(f"/api/v1/items?limit=2&after_id={first[-1]['id']}", headers=headers).json
    rest = client.get(f"/api/v1/items?limit=2&after_id={second[-1]['id']}", headers=headers).json
    ids = [item["id"] for item in first + second + rest]
    assert len(ids) == 5 and ids == sorted(ids)


def test_the_items_list_narrows_by_status_and_owner_and_pages_within_them(app, client, drain):
    """An integration asking for one owner's open items gets exactly those, a page after page."""
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com")
    create_rule(name="low to Dana", action="user", user_id=dana.id, conditions={"score_max": 2})
    for index, score in enumerate((1, 5, 2, 6, 0)):  # 1, 2 and 0 go to Dana; 5 and 6 to the fallback admin
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), score, "Bad")
    drain()
    ids = db.session.scalars(select(FeedbackItem.id).order_by(FeedbackItem.id)).all()
    headers = api_token(admin)
    closed = client.post(f"/api/v1/items/{ids[2]}/close", json={"reason": "duplicate"}, headers=headers)
    assert closed.status_code == 200

    def listed(query: str) -> list[int]:
        return [item["id"] for item in client.get(f"/api/v1/items?{query}", headers=headers).json]

    assert listed(f"owner_id={dana.id}") == [ids[0], ids[2], ids[4]]
    assert listed("status=closed") == [ids[2]]
    assert listed(f"status=open&owner_id={dana.id}") == [ids[0], ids[4]]
    assert listed(f"status=open&owner_id={dana.id}&limit=1&after_id={ids[0]}") == [ids[4]]


def test_invitations_report_skipped_contacts_with_reasons(app, client, drain, sendgrid):
    headers = api_token(make_user("lead@example.com", role="lead"))
    survey = make_survey()
    ok, gone = make_contact("ok@customer.example"), make_contact("gone@customer.example")
    gone.unsubscribed_at = utcnow()
    db.session.commit()
    sent = client.post(f"/api/v1/surveys/{survey.id}/invitations", headers=headers,
                       json={"contact_ids": [ok.id, gone.id]})
    assert sent.status_code == 202
    assert [i["contact_id"] for i in sent.json["invitations"]] == [ok.id]
    assert sent.json["skipped"] == [{"contact_id": gone.id, "reason": "unsubscribed"}]
    drain()
    assert [email.to for email in sendgrid.emails()] == ["ok@customer.example"]
    missing = client.post("/api/v1/surveys/99999/invitations", headers=headers, json={"contact_ids": [ok.id]})
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_openapi_spec_lists_the_stable_paths(app, client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/contacts", "/api/v1/surveys", "/api/v1/surveys/{survey_id}/invitations",
                 "/api/v1/routing-rules", "/api/v1/items", "/api/v1/items/{item_id}",
                 "/api/v1/items/{item_id}/close", "/api/v1/metrics/closure"):
        assert path in spec["paths"], path


def test_every_app_of_a_process_serves_the_whole_document_built_for_its_settings(app, client, settings):
    """The document is built once per process and set of API settings (vocloop.api): a later app serves
    the same one, and an app with another API version builds its own."""
    from vocloop import create_app

    first = client.get("/api/openapi.json").json
    assert create_app(settings).test_client().get("/api/openapi.json").json == first
    other = create_app({**settings, "API_VERSION": "v9"}).test_client().get("/api/openapi.json").json
    assert other["info"]["version"] == "v9" and first["info"]["version"] == "v1"
    assert other["paths"] == first["paths"] and len(first["paths"]) > 40


def test_the_first_resources_keep_their_tag_and_the_order_of_their_paths(app, client):
    """Contacts in bulk, surveys, sends and metrics are four modules adding routes to one blueprint: its
    name stays their tag (a generated client's module, vocloop_client.api.api_v1) and the document lists
    their paths in the order it always has (the order api/__init__.py imports the four in)."""
    spec = client.get("/api/openapi.json").json
    tagged = [path for path, operations in spec["paths"].items()
              if any(isinstance(operation, dict) and operation.get("tags") == ["api_v1"]
                     for operation in operations.values())]
    assert tagged == [f"/api/v1{path}" for path in (
        "/contacts/bulk", "/contacts/{contact_id}/export", "/contacts/{contact_id}/erase",
        "/surveys", "/surveys/{survey_id}", "/surveys/{survey_id}/invitations", "/surveys/{survey_id}/sends",
        "/sends/{send_id}/cancel", "/invitations",
        "/metrics/closure", "/metrics/scores", "/metrics/loop-effect", "/metrics/revenue-at-risk")]
    assert [tag["name"] for tag in spec["tags"]][0] == "api_v1"


def test_an_account_value_given_with_a_contact_raises_its_unhappy_answers_priority(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    headers = api_token(admin)
    refused = client.post("/api/v1/contacts", json={"email": "x@big.example", "account_name": "Big",
                                                    "account_annual_value": -5}, headers=headers)
    assert refused.status_code == 422 and "account_annual_value" in refused.get_data(as_text=True)
    big = client.post("/api/v1/contacts", json={"email": "cfo@big.example", "account_name": "Big Co",
                                                "account_annual_value": 900000}, headers=headers).json
    small = client.post("/api/v1/contacts", json={"email": "ann@small.example", "account_name": "Small Co",
                                                  "account_annual_value": 900}, headers=headers).json
    survey = make_survey()
    from vocloop.contacts.models import Contact
    for contact_id in (big["id"], small["id"]):
        answer(client, make_invitation(survey, db.session.get(Contact, contact_id)), 5, "It is ok I suppose")
    drain()
    priorities = {item.contact_id: item.priority for item in db.session.scalars(select(FeedbackItem))}
    assert priorities == {big["id"]: "P1", small["id"]: "P2"}


def test_the_api_page_and_its_assets_come_from_the_package(app, client):
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-spec-url="/api/openapi.json"' in html
    assert "<script>" not in html and "cdn" not in html.lower()
    script = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 500_000
    assert client.get("/api/docs/assets/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/api/docs/assets/..%2F__init__.py").status_code == 404
    spec = client.get("/api/openapi.json").json
    assert {"/api/v1/webhooks", "/api/v1/accounts", "/api/v1/responses", "/api/v1/users"} <= set(spec["paths"])


def test_a_patch_that_names_no_field_is_a_422_not_a_silent_success(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    survey = make_survey()
    for body in ({"data": b"", "content_type": "application/json"}, {"json": {}}, {"json": []}):
        response = client.patch(f"/api/v1/surveys/{survey.id}", headers=headers, **body)
        assert response.status_code == 422 and response.content_type == "application/problem+json"
        assert "at least one field" in response.json["detail"]
    assert client.patch(f"/api/v1/surveys/{survey.id}", headers=headers, json={"title": "Ask"}).status_code == 200


def test_ids_in_requests_are_positive_integers(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    survey = make_survey()
    response = client.post(f"/api/v1/surveys/{survey.id}/invitations", headers=headers, json={"contact_ids": [0]})
    assert response.status_code == 422 and "contact_ids" in response.json["errors"]
    assert client.get("/api/v1/items?owner_id=-1", headers=headers).status_code == 422
    response = client.post("/api/v1/routing-rules", headers=headers,
                           json={"name": "x", "action": "user", "user_id": 0})
    assert response.status_code == 422 and "user_id" in response.json["errors"]


def test_the_spec_documents_errors_retries_and_idempotency(app, client):
    spec = client.get("/api/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert {"401", "403", "404", "429"} <= set(responses), (method, path)
            if method == "post":
                assert "Idempotency-Key" in [p.get("name") for p in operation.get("parameters", [])], path
            for code in (code for code in responses if code >= "400"):
                name = responses[code]["$ref"].rsplit("/", 1)[1]
                assert list(spec["components"]["responses"][name]["content"]) == ["application/problem+json"]
    too_many = spec["components"]["responses"]["Problem429"]["headers"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(too_many)
    item = spec["components"]["schemas"]["ItemOut"]
    assert set(item["required"]) == set(item["properties"])
    assert item["properties"]["status"]["enum"] == ["open", "in_progress", "waiting", "closed"]


def test_errors_are_an_object_of_field_to_messages_even_for_a_body_that_is_not_an_object(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    survey = make_survey()
    for body in ({"json": [1, 2]}, {"json": "text"}, {"data": "{not json", "content_type": "application/json"}):
        response = client.post(f"/api/v1/surveys/{survey.id}/invitations", headers=headers, **body)
        assert response.status_code in (400, 422), body
        assert response.content_type == "application/problem+json"
        assert isinstance(response.json.get("errors", {}), dict), response.json
