"""Running it: health, readiness, request ids in logs (and into jobs), redaction, metrics, check."""

import json
import logging

from sqlalchemy import select

from tests.factories import answer, api_token, login, make_contact, make_invitation, make_survey, make_user
from vocloop import create_app
from vocloop.extensions import db
from vocloop.logs import JsonFormatter, RedactingFilter


def test_liveness_and_readiness(app, client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz", headers=api_token(make_user("admin@example.com", role="admin"), scope="read"))
    assert ready.status_code == 200 and ready.json["database"] == "ok"
    assert ready.json["outbox_pending"] == 0
    if not app.config["JOBS_INLINE"]:
        assert ready.json["redis"] == "ok" and set(ready.json["queue_depth"]) == {"mail", "classify", "default"}


def test_strangers_learn_only_whether_it_is_ready_operators_see_the_figures(app, client):
    """A public probe must not show queue depths, backlogs or errors naming internal hosts."""
    app.config["METRICS_TOKEN"] = "m" * 32
    owner = make_user("dana@example.com")
    for headers in ({}, api_token(owner), {"Authorization": "Bearer guessed"}, {"Authorization": "Bearer " + "n" * 32}):
        assert client.get("/readyz", headers=headers).json == {"status": "ready"}
    assert "queue_depth" in client.get("/readyz", headers={"Authorization": "Bearer " + "m" * 32}).json
    assert "outbox_pending" in client.get("/readyz", headers=api_token(make_user("a@example.com", role="admin"))).json
    login(client, "a@example.com")
    assert "database" in client.get("/readyz").json


def test_readiness_fails_when_redis_is_down(settings, schema):
    down = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0", "METRICS_TOKEN": "m" * 32})
    response = down.test_client().get("/readyz", headers={"Authorization": "Bearer " + "m" * 32})
    assert response.status_code == 503 and response.json["redis"].startswith("error")
    assert response.json["database"] == "ok" and response.json["status"] == "not ready"
    stranger = down.test_client().get("/readyz")
    assert stranger.status_code == 503 and stranger.json == {"status": "not ready"}


def test_every_response_carries_a_request_id_and_honours_a_safe_incoming_one(app, client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "lb-123.abc"}).headers["X-Request-ID"] == "lb-123.abc"
    forged = client.get("/healthz", headers={"X-Request-ID": "bad id; forged=1"})
    assert forged.headers["X-Request-ID"] != "bad id; forged=1" and len(forged.headers["X-Request-ID"]) == 32


def test_logs_never_contain_survey_tokens_or_secrets(app, client, caplog):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    with caplog.at_level(logging.INFO):
        client.get(f"/s/{token}?score=3")
        logging.getLogger("vocloop.test").warning("key is %s", app.config["SENDGRID_API_KEY"] + "-and-more")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in text and "/s/[token]" in text
    assert app.config["SENDGRID_API_KEY"] not in text and "[redacted]" in text


def test_keys_being_rotated_out_are_redacted_from_logs_too(settings, app, caplog):
    from vocloop import create_app
    old_key = "an-old-secret-key-" + "o" * 20
    create_app({**settings, "SECRET_KEY_FALLBACKS": [old_key]})
    with caplog.at_level(logging.INFO):
        logging.getLogger("vocloop.test").warning("old key %s in a message", old_key)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert old_key not in text and "[redacted]" in text


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("vocloop.x", logging.INFO, __file__, 1, "GET %s", ("/s/abc123?score=1",), None)
    RedactingFilter(["supersecretvalue"]).filter(record)
    record.request_id = "req-1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /s/[token]?score=1" and line["request_id"] == "req-1" and line["level"] == "INFO"


def test_a_job_carries_the_request_id_of_the_request_that_caused_it(app, client, drain, caplog):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    page = client.get(f"/s/{token}?score=3")
    assert page.status_code == 200
    with caplog.at_level(logging.INFO):
        done = client.post(f"/s/{token}", data={"score": "3", "comment": "Slow"},
                           headers={"X-Request-ID": "answer-42"})
    drain()
    assert done.headers["X-Request-ID"] == "answer-42"
    if app.config["JOBS_INLINE"]:
        assert any(getattr(r, "request_id", None) == "answer-42" and r.name == "vocloop.access" for r in caplog.records)
    else:
        from rq import Queue
        from rq.registry import FinishedJobRegistry

        from vocloop.jobs.queue import redis_connection
        registry = FinishedJobRegistry(queue=Queue("classify", connection=redis_connection()))
        jobs = [registry.get_job(job_id) for job_id in registry.get_job_ids()] if hasattr(registry, "get_job") else []
        from rq.job import Job
        jobs = jobs or [Job.fetch(job_id, connection=redis_connection()) for job_id in registry.get_job_ids()]
        assert any(job.meta.get("request_id") == "answer-42" for job in jobs)


def test_prometheus_metrics_are_off_by_default_and_guarded_by_a_token(app, client):
    assert client.get("/ops/metrics").status_code == 404
    app.config.update(METRICS_ENABLED=True, METRICS_TOKEN="scrape-token-123456")
    assert client.get("/ops/metrics").status_code == 401
    client.get("/healthz")
    body = client.get("/ops/metrics", headers={"Authorization": "Bearer scrape-token-123456"})
    text = body.get_data(as_text=True)
    assert body.status_code == 200
    for name in ("vocloop_http_request_duration_seconds_bucket", "vocloop_outbox_pending ",
                 "vocloop_sla_breached_open_items ", "vocloop_outbox_oldest_pending_seconds "):
        assert name in text, name


def test_check_reports_misconfiguration_with_an_exit_code(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1 and "triage@example.com is not an active user" in result.output
    make_user("admin@example.com", role="admin")
    healthy = runner.invoke(args=["check"])
    assert "schema at head" in healthy.output and "ERROR" not in healthy.output, healthy.output
    assert healthy.exit_code == 0


def test_a_contact_can_be_exported_and_erased_while_metrics_stay(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    contact = make_contact("ann@customer.example", name="Ann Example")
    answer(client, make_invitation(make_survey(), contact), 2, "My phone number is 555-0100")
    drain()
    headers = api_token(admin)
    exported = client.get(f"/api/v1/contacts/{contact.id}/export", headers=headers).json
    assert exported["contact"]["email"] == "ann@customer.example"
    assert exported["responses"][0]["comment"] == "My phone number is 555-0100" and exported["items"]
    before = client.get("/api/v1/metrics/closure", headers=headers).json
    assert client.post(f"/api/v1/contacts/{contact.id}/erase", headers=api_token(make_user(
        "owner@example.com"))).status_code == 403
    erased = client.post(f"/api/v1/contacts/{contact.id}/erase", headers=headers)
    assert erased.status_code == 200
    after = client.get(f"/api/v1/contacts/{contact.id}/export", headers=headers).get_data(as_text=True)
    assert "ann@customer.example" not in after and "555-0100" not in after and "Ann Example" not in after
    assert client.get("/api/v1/metrics/closure", headers=headers).json["opened"] == before["opened"] == 1
    from vocloop.surveys import service as surveys
    db.session.rollback()
    assert surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id]).skipped[0][1] in (
        "unsubscribed", "suppressed (erased)")


def test_the_cli_exports_and_erases_only_when_told_to(app, client, drain):
    make_user("admin@example.com", role="admin")
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 9, "Lovely")
    drain()
    runner = app.test_cli_runner()
    assert json.loads(runner.invoke(args=["contact-export", "ann@customer.example"]).output)["responses"]
    refused = runner.invoke(args=["contact-erase", "ann@customer.example"])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert runner.invoke(args=["contact-erase", "ann@customer.example", "--yes"]).exit_code == 0
    assert runner.invoke(args=["contact-export", "ann@customer.example"]).exit_code != 0


def test_comment_retention_erases_old_free_text_and_keeps_scores(app, client, drain):
    from datetime import timedelta

    from vocloop.contacts.privacy import apply_comment_retention
    from vocloop.db import utcnow
    from vocloop.responses.models import Response
    make_user("admin@example.com", role="admin")
    answer(client, make_invitation(make_survey(), make_contact("old@customer.example")), 3, "Old complaint")
    answer(client, make_invitation(make_survey(), make_contact("new@customer.example")), 3, "New complaint")
    drain()
    db.session.rollback()
    old = db.session.scalar(select(Response).where(Response.comment == "Old complaint"))
    old.answered_at = utcnow() - timedelta(days=400)
    db.session.commit()
    assert apply_comment_retention(365)["comments"] == 1
    db.session.rollback()
    comments = dict(db.session.execute(select(Response.score, Response.comment)).all())
    assert sorted(db.session.scalars(select(Response.comment)), key=str) == ["New complaint", None]
    assert comments  # scores kept


