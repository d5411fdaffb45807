"""Retraining without a terminal (issue #21): a lead retrains the sentiment model from the Topics page or the
API as a job, sees in words what became of it with its macro-F1 figures, can put the previous model back,
and the clock retrains once a week when owners have labelled comments since the last training."""

import re
from datetime import timedelta

from sqlalchemy import select, update

from tests.factories import api_token, csrf_from, login, make_user
from tests.integration.test_retrain import airline_csv
from vocloop.classify import retraining
from vocloop.classify.models import ClassifierModel, Correction, RetrainRun
from vocloop.classify.sentiment_model import shipped_model
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.jobs import tasks


def words(html: str) -> str:
    """The page's text as a person reads it (tags out, spaces collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def post(client, path):
    token = csrf_from(client.get("/topics/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token}, follow_redirects=True)


def import_labels(app, tmp_path, count=150):
    result = app.test_cli_runner().invoke(args=["corrections", "import", str(airline_csv(tmp_path / "a.csv", count))])
    assert result.exit_code == 0, result.output


def test_a_lead_retrains_from_the_topics_page_sees_the_figures_and_puts_the_old_model_back(app, client, drain,
                                                                                          tmp_path):
    make_user("lee@example.com", role="lead", name="Lee Park")
    login(client, "lee@example.com")
    page = client.get("/topics/").get_data(as_text=True)
    assert f"In use: <strong>the shipped model</strong> ({shipped_model().version})" in page
    assert "Retrain from 0 labelled comments" in page and "it needs at least 30; there are 0" in page
    refused = post(client, "/topics/retrain").get_data(as_text=True)
    assert "Retraining needs at least 30 labelled comments; there are 0." in refused
    assert db.session.scalar(select(RetrainRun)) is None

    import_labels(app, tmp_path)
    started = post(client, "/topics/retrain").get_data(as_text=True)
    assert "Retraining the sentiment model" in started
    drain()
    page = client.get("/topics/").get_data(as_text=True)
    model = db.session.scalar(select(ClassifierModel))
    assert model.in_use
    assert "In use: <strong>this install's own model</strong>" in page and "from 150 labelled comments" in page
    assert "out of 1 (macro-F1" in page
    assert (f"asked for by Lee Park just now : better, now in use (macro-F1 "
            f"{model.f1_before:.2f} → {model.f1_after:.2f})") in words(page)
    assert "Models this install trained, newest first" in page and '<span class="badge positive">in use</span>' in page

    again = post(client, "/topics/retrain")
    drain()
    run = db.session.scalar(select(RetrainRun).order_by(RetrainRun.id.desc()))
    assert again.status_code == 200 and run.outcome == "refused" and "exactly these corrections" in run.error
    assert "<strong>nothing to do</strong>" in client.get("/topics/").get_data(as_text=True)

    restored = post(client, "/topics/restore-model").get_data(as_text=True)
    assert f"{shipped_model().version} is the model in use again." in restored
    assert "In use: <strong>the shipped model</strong>" in restored and "used until" in restored


def test_the_api_retrains_as_a_job_and_lists_the_models_with_their_figures(app, client, drain, tmp_path):
    lead = make_user("lee@example.com", role="lead")
    owner = make_user("dana@example.com")
    headers = api_token(lead)
    assert client.get("/api/v1/classifier", headers=api_token(owner)).status_code == 403
    too_few = client.post("/api/v1/classifier/retrain", headers=headers)
    assert too_few.status_code == 422 and "at least 30 labelled comments" in too_few.get_data(as_text=True)
    assert client.post("/api/v1/classifier/restore", headers=headers).status_code == 409

    import_labels(app, tmp_path)
    started = client.post("/api/v1/classifier/retrain", headers=headers)
    assert started.status_code == 202 and started.json["status"] in ("queued", "running", "done")
    drain()
    run = client.get(f"/api/v1/classifier/retrain/{started.json['id']}", headers=headers).json
    assert run["status"] == "done" and run["outcome"] == "in_use" and run["requested_by_id"] == lead.id
    state = client.get("/api/v1/classifier", headers=headers).json
    assert state["in_use_version"] == run["model"]["version"] == state["models"][0]["version"]
    assert state["labelled_comments"] == 150 and state["models"][0]["corrections"] == 150
    assert state["models"][0]["macro_f1_after"] > state["models"][0]["macro_f1_before"]
    assert state["latest_retraining"]["id"] == run["id"]
    back = client.post("/api/v1/classifier/restore", headers=headers).json
    assert back["in_use_version"] == back["shipped_version"] == shipped_model().version


def test_the_clock_retrains_once_a_week_when_there_are_new_labels(app, drain, tmp_path):
    assert tasks.retrain_weekly() is None  # no labels
    few = app.test_cli_runner().invoke(args=["corrections", "import", str(airline_csv(tmp_path / "few.csv", 12))])
    assert few.exit_code == 0, few.output
    assert tasks.retrain_weekly() is None and db.session.scalar(select(RetrainRun)) is None  # too few yet
    import_labels(app, tmp_path)
    run_id = tasks.retrain_weekly()
    drain()
    run = db.session.get(RetrainRun, run_id)
    assert run.requested_by_id is None and run.outcome == "in_use"
    assert tasks.retrain_weekly() is None  # within the week
    a_week_later = utcnow() + timedelta(days=8)
    assert not retraining.weekly_run_due(a_week_later)  # no label since the model was trained
    db.session.execute(update(Correction).where(Correction.id == db.session.scalar(select(Correction.id).limit(1)))
                       .values(created_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    assert retraining.weekly_run_due(a_week_later)


def test_a_lost_retraining_is_picked_up_by_the_sweep(app, drain, tmp_path):
    import_labels(app, tmp_path, count=60)
    run = RetrainRun(requested_by_id=None, created_at=utcnow() - timedelta(hours=1))
    db.session.add(run)
    db.session.commit()
    assert tasks.sweep()["retraining_resumed"] == 1
    drain()
    db.session.refresh(run)
    assert run.status == "done" and run.outcome in ("in_use", "kept")
